package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestChatPage(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /chat/{site}", ChatPageHandler())
	fetch := func(method, path string) *http.Response {
		t.Helper()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Result()
	}

	res := fetch("GET", "/chat/site_abc123")
	page := string(body(t, res))
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != htmlType || res.Header.Get("Cache-Control") != cacheNoCache {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "default-src 'none'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
	// No inline script (the CSP would block it): the only script is a module with a src that exists.
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	if len(scripts) != 1 {
		t.Fatalf("scripts %q", scripts)
	}
	m := regexp.MustCompile(`<script type="module" src="(/widget/page-[A-Z0-9]+\.js)"></script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page script not found in %s", page)
	}
	if regexp.MustCompile(`\son[a-z]+=|style=`).MatchString(page) {
		t.Fatalf("inline handler or style in %s", page)
	}
	js := get(t, WidgetHandler(), "GET", m[1], nil)
	if js.StatusCode != 200 || js.Header.Get("Content-Type") != "application/javascript; charset=utf-8" {
		t.Fatalf("page script %s: %d", m[1], js.StatusCode)
	}

	// The page is the same for every site; a key that cannot be one is a 404.
	for _, bad := range []string{"/chat/a%20b", "/chat/" + strings.Repeat("k", 65), "/chat/%3Cscript%3E"} {
		if r := fetch("GET", bad); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d", bad, r.StatusCode)
		}
	}
	if r := fetch("HEAD", "/chat/site_x"); r.StatusCode != 200 {
		t.Errorf("HEAD: %d", r.StatusCode)
	}
}
