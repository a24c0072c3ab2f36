package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	tok := a.login("admin@example.com").Token
	type page struct {
		method, path string
		status       int
		kind         string // api, page or widget
	}
	pages := []page{
		{"GET", "/healthz", 200, "api"},
		{"GET", "/readyz", 200, "api"},
		{"GET", "/metrics", 200, "api"},
		{"GET", "/api/v1/agents", 200, "api"},
		{"GET", "/api/v1/auth/session", 401, "api"}, // without the token below
		{"GET", "/api/v1/no-such-thing", 404, "api"},
		{"DELETE", "/api/v1/teams", 404, "api"}, // the /api/ catch-all answers 404 in the error shape
		{"POST", "/api/v1/auth/login", 415, "api"},
		{"GET", "/console/", 200, "page"},
		{"GET", "/console/inbox/123", 200, "page"},
		{"GET", "/console/assets/missing-0000.js", 404, "page"},
		{"GET", "/", 302, "page"},
		{"GET", "/widget.js", 200, "widget"},
		{"GET", "/no-such-page", 404, "api"},
	}
	for _, p := range pages {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			hdr := map[string]string{}
			if p.path == "/api/v1/agents" {
				hdr["Authorization"] = "Bearer " + tok
			}
			r := a.call(p.method, p.path, nil, hdr)
			if r.Status != p.status {
				t.Fatalf("status %d, want %d", r.Status, p.status)
			}
			h := r.Header
			want := map[string]string{
				"X-Content-Type-Options":     "nosniff",
				"Referrer-Policy":            "strict-origin-when-cross-origin",
				"Cross-Origin-Opener-Policy": "same-origin",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(h.Get("Permissions-Policy"), "camera=()") {
				t.Errorf("Permissions-Policy = %q", h.Get("Permissions-Policy"))
			}
			csp := h.Get("Content-Security-Policy")
			switch p.kind {
			case "api":
				if csp != "default-src 'none'; frame-ancestors 'none'; sandbox" || h.Get("X-Frame-Options") != "DENY" {
					t.Errorf("API CSP %q, X-Frame-Options %q", csp, h.Get("X-Frame-Options"))
				}
			case "page":
				for _, d := range []string{"script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
					if !strings.Contains(csp, d) {
						t.Errorf("page CSP %q lacks %q", csp, d)
					}
				}
				if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
					t.Errorf("page CSP %q allows inline or eval'd script", csp)
				}
				if h.Get("X-Frame-Options") != "DENY" {
					t.Errorf("X-Frame-Options %q", h.Get("X-Frame-Options"))
				}
			case "widget":
				// The loader runs inside customers' pages: our CSP would not apply to it, but nosniff does.
				if ct := h.Get("Content-Type"); !strings.Contains(ct, "javascript") {
					t.Errorf("widget Content-Type %q", ct)
				}
			}
			// Plain http here: no HSTS (it would pin a scheme the deployment does not serve).
			if h.Get("Strict-Transport-Security") != "" {
				t.Errorf("HSTS on a plain-http deployment")
			}
		})
	}
}

func TestHSTSWhenPublicURLIsHTTPS(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{args: []string{"-public-url", "https://chat.example.com"}})
	r := a.call("GET", "/healthz", nil, nil)
	if !strings.HasPrefix(r.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("HSTS = %q", r.Header.Get("Strict-Transport-Security"))
	}
	// The session cookie is Secure then.
	lr := a.loginResp("admin@example.com", testPassword, nil)
	if c := lr.Header.Get("Set-Cookie"); !strings.Contains(c, "Secure") {
		t.Fatalf("cookie %q is not Secure behind https", c)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	a := startAPI(t, "sqlite", apiOptions{})
	var health struct {
		Status   string `json:"status"`
		Database struct {
			Driver     string `json:"driver"`
			Durable    bool   `json:"durable"`
			Durability string `json:"durability"`
			Schema     int    `json:"schema_version"`
		} `json:"database"`
	}
	r := a.call("GET", "/healthz", nil, nil)
	r.decode(t, &health)
	if r.Status != 200 || health.Status != "ok" || health.Database.Driver != "sqlite" || !health.Database.Durable ||
		health.Database.Durability != "synchronous=FULL" || health.Database.Schema < 13 {
		t.Fatalf("healthz: %d %s", r.Status, r.Body)
	}
	var ready struct {
		Status string `json:"status"`
	}
	r = a.call("GET", "/readyz", nil, nil)
	r.decode(t, &ready)
	if r.Status != 200 || ready.Status != "ready" {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	// HEAD and POST: routes are method-specific.
	if r := a.call("POST", "/healthz", nil, nil); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %d", r.Status)
	}

	a.login("admin@example.com")
	a.call("GET", "/api/v1/nope", nil, nil)
	m := a.call("GET", "/metrics", nil, nil)
	if m.Status != 200 || !strings.HasPrefix(m.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", m.Status, m.Header.Get("Content-Type"))
	}
	body := string(m.Body)
	for _, want := range []string{
		"go_goroutines ",
		"process_open_fds ",
		`parley_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`parley_http_requests_total{code="200",method="GET",route="GET /readyz"} 1`,
		`parley_http_requests_total{code="405",method="POST",route="unmatched"} 1`,
		`parley_http_requests_total{code="200",method="POST",route="POST /api/v1/auth/login"} 1`,
		`parley_http_requests_total{code="404",method="GET",route="/api/"} 1`,
		`parley_http_request_duration_seconds_count{route="GET /healthz"} 1`,
		`parley_logins_total{outcome="ok"} 1`,
		"parley_panics_recovered_total 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Routes are patterns, never raw paths: an id in a URL must not create a new series.
	if strings.Contains(body, `route="/api/v1/nope"`) {
		t.Error("a raw path became a metric label")
	}
}
