package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// manifest reads the logical-name map the build writes next to the files it describes.
func manifest(t *testing.T) map[string]string {
	t.Helper()
	raw, err := dist.ReadFile("dist/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"widget.js", "widget/panel.js", "console/index.html", "console/main.js", "console/main.css"} {
		if m[key] == "" {
			t.Fatalf("manifest.json has no %q entry: %v", key, m)
		}
	}
	return m
}

func get(t *testing.T, h http.Handler, method, target string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	htmlType = "text/html; charset=utf-8"
	jsType   = "application/javascript; charset=utf-8"
	cssType  = "text/css; charset=utf-8"
)

func TestConsoleHandler(t *testing.T) {
	m := manifest(t)
	h := ConsoleHandler()
	tests := []struct {
		name, path string
		status     int
		ctype      string
		cache      string
	}{
		{"root is the app", "/console/", 200, htmlType, "no-cache"},
		{"index by name", "/console/index.html", 200, htmlType, "no-cache"},
		{"deep link falls back to the app", "/console/conversations/0192-abc", 200, htmlType, "no-cache"},
		{"hashed script", "/" + m["console/main.js"], 200, jsType, cacheImmutable},
		{"hashed stylesheet", "/" + m["console/main.css"], 200, cssType, cacheImmutable},
		{"stale hashed script", "/console/assets/main-OLDHASH1.js", 404, "", ""},
		{"asset dir without extension", "/console/assets/whatever", 404, "", ""},
		{"missing file with extension", "/console/favicon.ico", 404, "", ""},
		{"outside the mount", "/widget.js", 404, "", ""},
		{"manifest is not served", "/console/../manifest.json", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, h, "GET", tt.path, nil)
			b := body(t, res)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (body %.80q)", res.StatusCode, tt.status, b)
			}
			if got := res.Header.Get("Cache-Control"); tt.status == 200 && got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			} else if tt.status != 200 && strings.Contains(got, "immutable") {
				t.Errorf("a %d must not be cached as immutable", tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if len(b) == 0 {
				t.Error("empty body")
			}
			if tt.ctype == htmlType && !bytes.Contains(b, []byte(`<div id="app">`)) {
				t.Errorf("not the console's index.html: %.200q", b)
			}
		})
	}
}

func TestConsoleIndexReferencesExistingFiles(t *testing.T) {
	h := ConsoleHandler()
	index := body(t, get(t, h, "GET", "/console/", nil))
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllSubmatch(index, -1)
	if len(refs) < 2 {
		t.Fatalf("index.html references %d files, want the script and the stylesheet:\n%s", len(refs), index)
	}
	if bytes.Contains(index, []byte("parley:")) {
		t.Errorf("index.html still holds a template marker:\n%s", index)
	}
	// A CSP of script-src 'self' forbids inline scripts: every <script> must have a src.
	if n, m := bytes.Count(index, []byte("<script")), bytes.Count(index, []byte("<script type=\"module\" src=")); n != m {
		t.Errorf("index.html has %d scripts, only %d with src", n, m)
	}
	for _, ref := range refs {
		p := string(ref[1])
		res := get(t, h, "GET", p, nil)
		ctype := res.Header.Get("Content-Type")
		if res.StatusCode != 200 || ctype == htmlType {
			t.Errorf("index.html references %s: status %d, Content-Type %q", p, res.StatusCode, ctype)
		}
		if want := contentTypes[path.Ext(p)]; ctype != want {
			t.Errorf("%s: Content-Type %q, want %q", p, ctype, want)
		}
	}
}

func TestWidgetHandler(t *testing.T) {
	m := manifest(t)
	h := WidgetHandler()

	loader := get(t, h, "GET", "/widget.js", nil)
	src := body(t, loader)
	checkHeaders(t, "/widget.js", loader, 200, jsType, "public, max-age=300")
	// The loader must name the panel chunk this very build produced, or the first click 404s.
	if !bytes.Contains(src, []byte(`"`+m["widget/panel.js"]+`"`)) {
		t.Errorf("widget.js does not reference %s", m["widget/panel.js"])
	}

	panel := get(t, h, "GET", "/"+m["widget/panel.js"], nil)
	checkHeaders(t, "panel", panel, 200, jsType, cacheImmutable)
	if b := body(t, panel); !bytes.Contains(b, []byte("export{")) {
		t.Errorf("panel chunk is not an ES module (import() needs its mount export): %.100q", b)
	}

	for _, p := range []string{"/widget/panel-OLDHASH1.js", "/widget/", "/widget.jsx", "/console/index.html", "/manifest.json"} {
		if res := get(t, h, "GET", p, nil); res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func checkHeaders(t *testing.T, name string, res *http.Response, status int, ctype, cache string) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s: status %d, want %d", name, res.StatusCode, status)
	}
	for k, want := range map[string]string{
		"Content-Type":  ctype,
		"Cache-Control": cache,
		// import() from a customer's page is a cross-origin CORS request.
		"Access-Control-Allow-Origin":  "*",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"X-Content-Type-Options":       "nosniff",
		"Vary":                         "Accept-Encoding",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s: %s %q, want %q", name, k, got, want)
		}
	}
}

func TestGzip(t *testing.T) {
	h := WidgetHandler()
	plain := get(t, h, "GET", "/widget.js", nil)
	plainBody := body(t, plain)
	if plain.Header.Get("Content-Encoding") != "" {
		t.Fatal("compressed without Accept-Encoding")
	}

	zipped := get(t, h, "GET", "/widget.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if got := zipped.Header.Get("Content-Encoding"); got != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", got)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body(t, zipped)))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, plainBody) {
		t.Error("gzip body does not decompress to the plain body")
	}
	if zipped.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("gzip and identity responses share an ETag")
	}
	if zipped.Header.Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary %q", zipped.Header.Get("Vary"))
	}

	refused := get(t, h, "GET", "/widget.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if got := refused.Header.Get("Content-Encoding"); got != "" {
		t.Errorf("gzip;q=0 got Content-Encoding %q", got)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"GZIP":                 true,
		"deflate, gzip":        true,
		"br;q=1, gzip;q=0.5":   true,
		"gzip;q=0":             false,
		"gzip; q=0.000":        false,
		"identity":             false,
		"x-gzip":               false,
		"gzip;q=1.0, identity": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestConditionalAndHead(t *testing.T) {
	h := ConsoleHandler()
	first := get(t, h, "GET", "/console/", nil)
	etag := first.Header.Get("ETag")
	if etag == "" {
		t.Fatal("index.html has no ETag: no-cache would then mean a full download on every load")
	}
	again := get(t, h, "GET", "/console/some/route", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: status %d, want 304", again.StatusCode)
	}

	head := get(t, h, "HEAD", "/console/", nil)
	if head.StatusCode != 200 || len(body(t, head)) != 0 || head.Header.Get("Content-Type") != htmlType {
		t.Errorf("HEAD: status %d, Content-Type %q", head.StatusCode, head.Header.Get("Content-Type"))
	}

	post := get(t, h, "POST", "/console/", nil)
	if post.StatusCode != http.StatusMethodNotAllowed || post.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", post.StatusCode, post.Header.Get("Allow"))
	}
}

// TestLoaderBudget keeps the loader small: every page view of every site that embeds the widget pays
// for it, before the visitor has shown any interest in chatting.
func TestLoaderBudget(t *testing.T) {
	const budget = 10 * 1024
	size := LoaderGzipSize()
	t.Logf("widget.js: %d bytes gzipped (budget %d)", size, budget)
	if size <= 0 || size >= budget {
		t.Errorf("widget.js is %d bytes gzipped, budget is < %d: move code into the lazily loaded panel", size, budget)
	}
	res := get(t, WidgetHandler(), "GET", "/widget.js", map[string]string{"Accept-Encoding": "gzip"})
	if n := len(body(t, res)); n != size {
		t.Errorf("LoaderGzipSize() = %d, but the served gzip body has %d bytes", size, n)
	}
}
