package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// jsonEndpoint is an endpoint that reads a JSON body, with a valid body and one field of a known type.
type jsonEndpoint struct {
	method, path string
	auth         bool   // needs the admin's Bearer token
	limit        int    // its body limit
	tmpl         string // a body it accepts (2xx) once @@ is removed; @@ sits inside a string value
	wrongType    string // a known field with a value of the wrong type
	typeField    string
}

func (e jsonEndpoint) with(s string) string { return strings.Replace(e.tmpl, "@@", s, 1) }

// The password change comes last: it ends the admin's sessions.
var jsonEndpoints = []jsonEndpoint{
	{"POST", "/api/v1/auth/login", false, 4 << 10, `{"email":"admin@example.com","password":"correct horse battery@@"}`, `{"email":5,"password":"x"}`, "email"},
	{"POST", "/api/v1/agents", true, 64 << 10, `{"email":"new@example.com","name":"New@@","password":"correct horse battery","capacity":3}`, `{"email":"n@example.com","capacity":"many"}`, "capacity"},
	{"PATCH", "/api/v1/agents/me", true, 64 << 10, `{"name":"Admin 管理员@@"}`, `{"auto_accept":"yes"}`, "auto_accept"},
	{"POST", "/api/v1/teams", true, 64 << 10, `{"name":"Sales 销售 😀@@"}`, `{"name":true}`, "name"},
	{"PUT", "/api/v1/agents/me/password", true, 4 << 10, `{"current_password":"correct horse battery","password":"correct horse battery@@"}`, `{"password":["a"]}`, "password"},
}

func TestMalformedBodiesOnEveryEndpoint(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	admin := a.login("admin@example.com")
	type bad struct {
		name   string
		body   string
		ctype  string // "" = application/json; "-" = none
		status int
		code   string
		field  string
	}
	for _, ep := range jsonEndpoints {
		cases := []bad{
			{"malformed", `{"name":`, "", 400, "invalid", ""},
			{"syntax error", `{"name" "x"}`, "", 400, "invalid", ""},
			{"not an object", `["a","b"]`, "", 400, "invalid", ""},
			{"a string", `"hello"`, "", 400, "invalid", ""},
			{"empty", ``, "", 400, "invalid", ""},
			{"wrong type", ep.wrongType, "", 400, "invalid", ep.typeField},
			{"unknown field (mass assignment)", strings.Replace(ep.with(""), "{", `{"id":"00000000-0000-0000-0000-000000000000",`, 1), "", 400, "invalid", "id"},
			{"unknown field is_admin", strings.Replace(ep.with(""), "{", `{"is_admin":true,`, 1), "", 400, "invalid", "is_admin"},
			{"invalid UTF-8", ep.with("\xff\xfe"), "", 400, "invalid", ""},
			{"truncated UTF-8", ep.with("\xe4\xb8"), "", 400, "invalid", ""},
			{"lone high surrogate", ep.with(`\ud800`), "", 400, "invalid", ""},
			{"lone low surrogate", ep.with(`\udc00x`), "", 400, "invalid", ""},
			{"reversed surrogate pair", ep.with(`\ude00\ud83d`), "", 400, "invalid", ""},
			{"trailing data", ep.with("") + ` {"a":1}`, "", 400, "invalid", ""},
			{"text/plain", ep.with(""), "text/plain", 415, "unsupported", ""},
			{"form", "email=a", "application/x-www-form-urlencoded", 415, "unsupported", ""},
			{"no Content-Type", ep.with(""), "-", 415, "unsupported", ""},
			{"bad Content-Type", ep.with(""), "application/json; charset", 415, "unsupported", ""},
			{"over the limit", `{"name":"` + strings.Repeat("a", ep.limit) + `"}`, "", 413, "too_large", ""},
		}
		for _, c := range cases {
			t.Run(ep.method+" "+ep.path+"/"+c.name, func(t *testing.T) {
				hdr := map[string]string{}
				if ep.auth {
					hdr["Authorization"] = "Bearer " + admin.Token
				}
				switch c.ctype {
				case "":
				case "-":
					hdr["Content-Type"] = ""
				default:
					hdr["Content-Type"] = c.ctype
				}
				r := a.call(ep.method, ep.path, []byte(c.body), hdr)
				e := r.wantError(t, c.status, c.code)
				if c.field != "" && e.Error.Field != c.field {
					t.Fatalf("field = %q, want %q (%s)", e.Error.Field, c.field, r.Body)
				}
			})
		}
		t.Run(ep.method+" "+ep.path+"/valid", func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/json; charset=utf-8"}
			if ep.auth {
				hdr["Authorization"] = "Bearer " + admin.Token
			}
			r := a.call(ep.method, ep.path, []byte(ep.with("")), hdr)
			if r.Status < 200 || r.Status > 299 {
				t.Fatalf("valid body: %d %s", r.Status, r.Body)
			}
		})
	}
	// A properly paired surrogate escape is an emoji and is stored as such.
	admin = a.login("admin@example.com")
	r := a.call("POST", "/api/v1/teams", []byte(`{"name":"Emoji \ud83d\ude00"}`), map[string]string{"Authorization": "Bearer " + admin.Token})
	if r.Status != http.StatusCreated || !strings.Contains(string(r.Body), "Emoji 😀") {
		t.Fatalf("paired surrogates: %d %s", r.Status, r.Body)
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	tok := a.login("admin@example.com").Token
	cases := []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/api/v1/agents", map[string]any{"email": "not an address", "password": testPassword}, "email"},
		{"POST", "/api/v1/agents", map[string]any{"email": "x@example.com", "password": "short"}, "password"},
		{"POST", "/api/v1/agents", map[string]any{"email": "x@example.com", "password": strings.Repeat("p", 73)}, "password"},
		{"POST", "/api/v1/agents", map[string]any{"email": "x@example.com", "password": testPassword, "role": "root"}, "role"},
		{"POST", "/api/v1/agents", map[string]any{"email": "x@example.com", "password": testPassword, "capacity": -1}, "capacity"},
		{"POST", "/api/v1/agents", map[string]any{"email": "x@example.com", "password": testPassword, "weight": 5000}, "weight"},
		{"POST", "/api/v1/agents", map[string]any{"email": "x@example.com", "password": testPassword, "teams": []string{"nope"}}, "teams"},
		{"POST", "/api/v1/agents", map[string]any{"email": "x@example.com", "name": "a\x07b", "password": testPassword}, "name"},
		{"PATCH", "/api/v1/agents/me", map[string]any{"name": strings.Repeat("名", 101)}, "name"},
		{"PATCH", "/api/v1/agents/me", map[string]any{"name": "   "}, "name"},
		{"POST", "/api/v1/teams", map[string]any{"name": ""}, "name"},
	}
	for _, c := range cases {
		r := a.as(tok, c.method, c.path, c.body)
		e := r.wantError(t, http.StatusBadRequest, "invalid")
		if e.Error.Field != c.field {
			t.Errorf("%s %s %v: field %q, want %q", c.method, c.path, c.body, e.Error.Field, c.field)
		}
	}
	// A duplicate e-mail is a conflict.
	a.as(tok, "POST", "/api/v1/agents", map[string]any{"email": "ADMIN@example.com", "password": testPassword}).
		wantError(t, http.StatusConflict, "conflict")
	// Bad query parameters too.
	a.as(tok, "GET", "/api/v1/audit?limit=0", nil).wantError(t, http.StatusBadRequest, "invalid")
	a.as(tok, "GET", "/api/v1/audit?limit=abc", nil).wantError(t, http.StatusBadRequest, "invalid")
	a.as(tok, "GET", "/api/v1/audit?before=garbage", nil).wantError(t, http.StatusBadRequest, "invalid")
	// Unknown ids and endpoints answer 404 in the error shape.
	a.as(tok, "GET", "/api/v1/agents/00000000-0000-0000-0000-000000000000", nil).wantError(t, http.StatusNotFound, "not_found")
	a.as(tok, "GET", "/api/v1/agents/'%20OR%201=1", nil).wantError(t, http.StatusNotFound, "not_found")
	a.as(tok, "GET", "/api/v1/nothing-here", nil).wantError(t, http.StatusNotFound, "not_found")
}

func TestAuditLogPages(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	tok := a.login("admin@example.com").Token
	for i := 0; i < 5; i++ {
		if r := a.as(tok, "POST", "/api/v1/teams", map[string]string{"name": "team " + string(rune('A'+i))}); r.Status != 201 {
			t.Fatalf("team: %d", r.Status)
		}
	}
	// 1 agent.create (startAPI) + 1 login + 5 team.create = 7 entries.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the cursor does not advance")
		}
		var page struct {
			Entries []struct {
				ID     string `json:"id"`
				Action string `json:"action"`
			} `json:"entries"`
			Next string `json:"next"`
		}
		a.as(tok, "GET", "/api/v1/audit?limit=3&before="+cursor, nil).decode(t, &page)
		for _, e := range page.Entries {
			if seen[e.ID] {
				t.Fatalf("entry %s on two pages", e.ID)
			}
			seen[e.ID] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != 7 {
		t.Fatalf("%d entries over all pages, want 7", len(seen))
	}
}
