package web

import (
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"sync"
)

// chatPageCSP is the standalone chat page's policy: only Parley's own scripts, no inline script or style
// attribute in markup, network only to Parley itself (fetch, WebSocket), images from attachments fetched as
// blobs. It replaces the API's deny-all policy the server's middleware set for this path.
const chatPageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"

var chatPage = sync.OnceValue(func() *asset {
	var manifest map[string]string
	b, err := dist.ReadFile("dist/manifest.json")
	if err == nil {
		err = json.Unmarshal(b, &manifest)
	}
	script, ok := manifest["widget/page.js"]
	if err != nil || !ok {
		// The manifest is compiled into the binary; a missing entry is a build defect.
		panic("web: dist/manifest.json has no widget/page.js; run go generate ./web")
	}
	page := `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="referrer" content="strict-origin-when-cross-origin">
<title>Chat</title>
<script type="module" src="/` + html.EscapeString(script) + `"></script>
</head>
<body>
<noscript>This chat needs JavaScript. 在线客服需要启用 JavaScript。</noscript>
</body>
</html>
`
	return newAsset([]byte(page), "chat.html")
})

// ChatPageHandler serves the standalone chat page, the widget's panel as a full page for links in e-mails,
// QR codes and app web views. Mount it at "GET /chat/{site}": the page's script reads the site key from its
// own path, so the page is the same for every site and cached only with revalidation (a deploy changes the
// script it references). An unknown site key is reported by the chat itself (the visitor session is
// refused); a key that cannot be one is a 404 here.
func ChatPageHandler() http.Handler {
	page := chatPage()
	return getOnly(func(w http.ResponseWriter, r *http.Request) {
		site := r.PathValue("site")
		if site == "" {
			site = strings.TrimPrefix(r.URL.Path, "/chat/")
		}
		if !validSiteKey(site) {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", chatPageCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		serve(w, r, page, cacheNoCache)
	})
}

// validSiteKey accepts what a widget key can look like: 1 to 64 letters, digits, '_' and '-'.
func validSiteKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
