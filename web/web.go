// Package web embeds Parley's built front-ends (dist/, produced from the sources by ./build and committed)
// and serves them. Hashed file names change whenever their content does, so they are cached for a year;
// only the entry points with fixed names (the console's index.html and the widget loader) are revalidated.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// all: keeps the embed valid even if dist/ ever holds only dot-files; dist/ is committed, so a fresh
// clone builds without Node.
//
//go:embed all:dist
var dist embed.FS

const (
	cacheImmutable = "public, max-age=31536000, immutable"
	// The loader's URL is pasted into customers' sites and cannot change, so it may be stale for at most
	// five minutes after a deploy; the ETag makes the revalidation after that cheap.
	cacheLoader  = "public, max-age=300"
	cacheNoCache = "no-cache"
)

// contentTypes is fixed here rather than taken from mime.TypeByExtension, whose answers depend on the
// machine's mime.types (.js is text/javascript on some systems, application/javascript on others).
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".ico":   "image/x-icon",
	".js":    "application/javascript; charset=utf-8",
	".json":  "application/json",
	".png":   "image/png",
	".svg":   "image/svg+xml",
	".woff2": "font/woff2",
}

// asset is one embedded file with its response metadata. The gzip copy is made on first use and kept:
// files are immutable, so compressing once per process beats both compressing per request and
// committing .gz files whose bytes would depend on the Go version's compressor.
type asset struct {
	body  []byte
	ctype string
	etag  string

	gzOnce sync.Once
	gz     []byte // nil when the type does not compress
}

func newAsset(body []byte, name string) *asset {
	ctype, ok := contentTypes[path.Ext(name)]
	if !ok {
		ctype = mime.TypeByExtension(path.Ext(name))
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	sum := sha256.Sum256(body)
	return &asset{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// gzipped returns the compressed body, or nil when the content type is already compressed (images,
// fonts) or compressing does not make it smaller.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		if !compressible(a.ctype) {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // only fails for an invalid level
		zw.Write(a.body)                                         // writes to a bytes.Buffer cannot fail
		zw.Close()
		if buf.Len() < len(a.body) {
			a.gz = buf.Bytes()
		}
	})
	return a.gz
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

// assets indexes dist/ by the URL path each file is served at ("/widget.js", "/console/index.html").
// It is derived once from the embedded, read-only files, so sharing it between handlers is safe.
var assets = sync.OnceValue(func() map[string]*asset {
	m := map[string]*asset{}
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		urlPath := strings.TrimPrefix(p, "dist")
		m[urlPath] = newAsset(body, urlPath)
		return nil
	})
	if err != nil {
		// An embed.FS is compiled into the binary; failing to walk it is a build defect, not a runtime
		// condition a caller could handle.
		panic("web: reading embedded dist: " + err.Error())
	}
	return m
})

// ConsoleHandler serves the agent console. Mount it at "/console/" without stripping the prefix: it
// expects request paths beginning with /console/. Hashed files under /console/assets/ are immutable and
// 404 when missing; any other path without a file extension is a client-side route and gets index.html
// (no-cache, so a deploy is picked up on the next load).
func ConsoleHandler() http.Handler {
	files := assets()
	index := files["/console/index.html"]
	return getOnly(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !strings.HasPrefix(p, "/console/") {
			http.NotFound(w, r)
			return
		}
		if p == "/console/index.html" {
			serve(w, r, index, cacheNoCache)
			return
		}
		if a, ok := files[p]; ok {
			serve(w, r, a, cacheImmutable)
			return
		}
		// A missing file must be a 404: answering a stale hashed script with index.html would make the
		// browser report a MIME error instead, and cache nothing useful.
		if strings.HasPrefix(p, "/console/assets/") || path.Ext(p) != "" {
			http.NotFound(w, r)
			return
		}
		serve(w, r, index, cacheNoCache)
	})
}

// WidgetHandler serves the visitor widget. Mount it at both "/widget.js" (the loader, whose name is
// stable and so cached for five minutes only) and "/widget/" (hashed chunks, immutable).
//
// These files are loaded by customers' pages on other origins, and the loader fetches the panel with
// import(), which is a CORS request: so every response allows any origin. They are public, static and
// fetched without credentials, so "*" exposes nothing.
func WidgetHandler() http.Handler {
	files := assets()
	return getOnly(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		var cache string
		switch {
		case p == "/widget.js":
			cache = cacheLoader
		case strings.HasPrefix(p, "/widget/"):
			cache = cacheImmutable
		}
		a, ok := files[p]
		if cache == "" || !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		// Explicit, in case a middleware sets a same-origin resource policy for the rest of the site.
		w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
		serve(w, r, a, cache)
	})
}

// LoaderGzipSize returns the size in bytes of widget.js as served with gzip, the cost every page view of
// every host site pays.
func LoaderGzipSize() int {
	a := assets()["/widget.js"]
	if gz := a.gzipped(); gz != nil {
		return len(gz)
	}
	return len(a.body)
}

func getOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	})
}

// serve writes one asset. http.ServeContent handles HEAD, Range and If-None-Match (304) for us.
func serve(w http.ResponseWriter, r *http.Request, a *asset, cache string) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	// Responses differ by Accept-Encoding whenever a gzip copy exists; caches must key on it.
	h.Add("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if gz := a.gzipped(); gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		// A different representation needs a different strong ETag.
		body, etag = gz, strings.TrimSuffix(etag, `"`)+`-gz"`
	}
	h.Set("ETag", etag)
	// Embedded files have no modification time; the ETag carries revalidation instead.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip, honouring an explicit "gzip;q=0".
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, hasQ := strings.CutPrefix(strings.TrimSpace(params), "q=")
		return !hasQ || strings.Trim(strings.TrimSpace(q), "0.") != ""
	}
	return false
}
