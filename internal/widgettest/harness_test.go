package widgettest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// hostPage serves a customer's web page that embeds the widget, on its own origin: 127.0.0.2 (another host
// than Parley's 127.0.0.1, so another origin even on the same port), or another port of 127.0.0.1 when
// 127.0.0.2 cannot be bound here.
type hostPage struct {
	srv    *httptest.Server
	Origin string
}

func startHost(t *testing.T, parleyURL, siteKey string) *hostPage {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		site := r.URL.Query().Get("site")
		if site == "" {
			site = siteKey
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// A typical shop page: its own styles that would break a widget without a shadow root, and no CSP.
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley Shop</title>
<style>* { font-family: serif !important; color: #a00 !important; } button { background: yellow !important; }
body { margin: 0; padding: 24px; background: #fafaf9; } h1 { font-size: 28px; }</style></head>
<body><h1>Parley Shop</h1><p>Everything for your garden. Questions? Chat with us below.</p>
<script src="%s/widget.js" data-site="%s" async></script></body></html>`, html.EscapeString(parleyURL), html.EscapeString(site))
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &hostPage{srv: srv, Origin: srv.URL}
}

// tab is one browser tab with helpers that reach into the widget's closed shadow root through the DevTools
// protocol: DOM.getDocument with pierce finds the root, DOM.resolveNode gives the test a handle on it, and
// Runtime.callFunctionOn runs a function with that root as this. The page's own scripts have no such handle.
type tab struct {
	t    *testing.T
	ctx  context.Context
	root runtime.RemoteObjectID
}

// newTab opens a tab in a new browser context (its own cookies and localStorage, like another person), or
// in the same browser context as parent when parent is not nil (another tab of the same person).
func newTab(t *testing.T, browser context.Context, parent *tab) *tab {
	t.Helper()
	var ctx context.Context
	var cancel context.CancelFunc
	if parent != nil {
		ctx, cancel = chromedp.NewContext(parent.ctx)
	} else {
		ctx, cancel = chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	}
	t.Cleanup(cancel)
	// The first run opens the tab and ties it to ctx: it must not carry a timeout, or the tab closes with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	tb := &tab{t: t, ctx: ctx}
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	})
	return tb
}

func (tb *tab) call(f func(ctx context.Context) error) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) navigate(url string) {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error { return chromedp.Do(ctx, chromedp.Navigate(url)) })
	tb.root = ""
}

func (tb *tab) reload() {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error { return chromedp.Do(ctx, chromedp.Reload()) })
	tb.root = ""
}

// attach finds the shadow root of the element named host (waiting for the loader to create it).
func (tb *tab) attach(host string) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var backend cdp.BackendNodeID
		tb.call(func(ctx context.Context) error {
			depth, pierce := int64(-1), true
			doc, err := chromedp.Call(ctx, dom.GetDocument, dom.GetDocumentParams{Depth: &depth, Pierce: &pierce})
			if err != nil {
				return err
			}
			if n := findNode(doc.Root, host); n != nil && len(n.ShadowRoots) > 0 {
				backend = n.ShadowRoots[0].BackendNodeID
			}
			return nil
		})
		if backend != 0 {
			tb.call(func(ctx context.Context) error {
				res, err := chromedp.Call(ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: backend})
				if err != nil {
					return err
				}
				tb.root = res.Object.ObjectID
				return nil
			})
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("no <%s> with a shadow root on the page", host)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func findNode(n *cdp.Node, name string) *cdp.Node {
	if n == nil {
		return nil
	}
	if n.LocalName == name {
		return n
	}
	for _, c := range n.Children {
		if f := findNode(c, name); f != nil {
			return f
		}
	}
	return nil
}

// in runs fn, a JavaScript function, with the widget's shadow root as this and args as its arguments, and
// decodes its (JSON) result into out when out is not nil.
func (tb *tab) in(fn string, out any, args ...any) {
	tb.t.Helper()
	if err := tb.tryIn(fn, out, args...); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) tryIn(fn string, out any, args ...any) error {
	if tb.root == "" {
		return fmt.Errorf("not attached to a shadow root")
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	var cargs []*runtime.CallArgument
	for _, a := range args {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		cargs = append(cargs, &runtime.CallArgument{Value: b})
	}
	ret := true
	await := true
	res, err := chromedp.Call(ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{FunctionDeclaration: fn,
		ObjectID: tb.root, Arguments: cargs, ReturnByValue: &ret, AwaitPromise: &await})
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("javascript: %s", res.ExceptionDetails.Text+" "+exceptionText(res.ExceptionDetails))
	}
	if out != nil && res.Result != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal([]byte(res.Result.Value), out)
	}
	return nil
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

// text returns the visible text of the first element matching sel inside the shadow root ("" if none).
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.in(`function(sel){ const e = this.querySelector(sel); return e ? e.textContent : ""; }`, &s, sel)
	return s
}

// waitFor polls a JavaScript predicate over the shadow root until it returns true.
func (tb *tab) waitFor(what, fn string, args ...any) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var ok bool
		err := tb.tryIn(fn, &ok, args...)
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var log string
			tb.tryIn(`function(){ const l = this.querySelector(".panel"); return l ? l.innerText : "(no panel)"; }`, &log)
			tb.t.Fatalf("timed out waiting for %s (last error %v); the panel shows:\n%s", what, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until the panel's text contains s.
func (tb *tab) waitText(s string) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("the panel to show %q", s), `function(s){ const p = this.querySelector(".panel"); return !!p && p.textContent.includes(s); }`, s)
}

// click clicks the centre of the first element matching sel with real mouse events, as a person would. It
// waits until the element is what the pointer would hit there, in two reads a frame apart, so a layout
// still settling (data arriving above the element) does not send the click elsewhere.
func (tb *tab) click(sel string) {
	tb.t.Helper()
	var r struct{ X, Y float64 }
	at := `function(sel){ const e = this.querySelector(sel); if (!e) return null;
		e.scrollIntoView({block: "nearest"}); const b = e.getBoundingClientRect(); if (b.width === 0 || b.height === 0) return null;
		const x = b.x + b.width/2, y = b.y + b.height/2, hit = (this.elementFromPoint ? this : document).elementFromPoint(x, y);
		return hit && (hit === e || e.contains(hit)) ? {X: x, Y: y} : null; }`
	tb.waitFor("a visible "+sel, `function(sel){ return new Promise((done) => { const a = (`+at+`).call(this, sel);
		requestAnimationFrame(() => requestAnimationFrame(() => { const b = (`+at+`).call(this, sel); done(!!a && !!b && a.X === b.X && a.Y === b.Y); })); }); }`, sel)
	tb.in(`function(sel){ return (`+at+`).call(this, sel) || {X: 0, Y: 0}; }`, &r, sel)
	tb.call(func(ctx context.Context) error { return chromedp.Do(ctx, chromedp.MouseClickXY(r.X, r.Y)) })
}

// typeText types into the focused element with key events; text without a key on the keyboard (Chinese)
// arrives the way an input method commits it.
func (tb *tab) typeText(s string) {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		ascii := true
		for _, r := range s {
			if r > 0x7e {
				ascii = false
			}
		}
		if ascii {
			return chromedp.Do(ctx, chromedp.KeyEvent(s))
		}
		_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: s})
		return err
	})
}

// key presses one named key (chromedp/kb), e.g. "\r" for Enter.
func (tb *tab) key(k string) {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error { return chromedp.Do(ctx, chromedp.KeyEvent(k)) })
}

// fill focuses the element matching sel by clicking it and types s.
func (tb *tab) fill(sel, s string) {
	tb.t.Helper()
	tb.click(sel)
	tb.typeText(s)
}

// page evaluates an expression in the host page's own JavaScript world: what the site's scripts can see.
func (tb *tab) page(expr string, out any) {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			return err
		}
		if out != nil {
			return json.Unmarshal(v, out)
		}
		return nil
	})
}

// setFile puts a file into the <input type=file> matching sel, as choosing it in the file dialog would.
func (tb *tab) setFile(sel, path string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: `function(sel){ return this.querySelector(sel); }`, ObjectID: tb.root,
		Arguments: []*runtime.CallArgument{{Value: mustJSON(sel)}}})
	if err != nil || res.Result == nil || res.Result.ObjectID == "" {
		tb.t.Fatalf("file input %s: %v", sel, err)
	}
	if _, err := chromedp.Call(ctx, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{path}, ObjectID: res.Result.ObjectID}); err != nil {
		tb.t.Fatal(err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// offline cuts the tab's network (and tells the page it is offline), or restores it.
func (tb *tab) offline(off bool) {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off,
			Latency: 0, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
			return err
		}
		conds := []*network.Conditions{}
		if off {
			conds = append(conds, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
		}
		_, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds})
		return err
	})
}

// phone makes the tab a 375-pixel-wide phone whose browser language is lang.
func (tb *tab) phone(lang string) {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 375, Height: 740, DeviceScaleFactor: 2, Mobile: true}); err != nil {
			return err
		}
		return tb.setLang(ctx, lang)
	})
}

func (tb *tab) setLang(ctx context.Context, lang string) error {
	ua, err := chromedp.Run(ctx, chromedp.Evaluate[string]("navigator.userAgent"))
	if err != nil {
		return err
	}
	_, err = chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: lang})
	return err
}

// screenshot saves what the tab shows as name.png into PARLEY_WIDGET_SCREENSHOTS (e.g. docs/screenshots)
// when that is set, else into the test's temporary directory. It returns the file.
func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	dir := os.Getenv("PARLEY_WIDGET_SCREENSHOTS")
	if dir == "" {
		dir = tb.t.TempDir()
	}
	var shot []byte
	tb.call(func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng})
		if err != nil {
			return err
		}
		shot = res.Data
		return nil
	})
	p := filepath.Join(dir, name+".png")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(p, shot, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	return p
}

// panelText returns everything the panel shows, for error messages and content checks.
func (tb *tab) panelText() string {
	var s string
	tb.in(`function(){ const p = this.querySelector(".panel"); return p ? p.textContent : ""; }`, &s)
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// allowDownloads lets the tab's browser context save downloads into dir.
func (tb *tab) allowDownloads(dir string) {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
			BrowserContextID: chromedp.FromContext(ctx).BrowserContextID})
		return err
	})
}

// waitFile waits for a completely downloaded file whose name starts with prefix in dir and returns its text.
func waitFile(t *testing.T, dir, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) && !strings.HasSuffix(e.Name(), ".crdownload") {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err == nil && len(b) > 0 {
					return string(b)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no download %s* in %s", prefix, dir)
	return ""
}

// blockWebSockets makes every WebSocket the tab's pages open fail its handshake, as a proxy that does not
// pass WebSockets would: the URL is bent to a path that answers 404, before any page script runs.
func (tb *tab) blockWebSockets() {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			(() => { const WS = window.WebSocket;
			  window.WebSocket = function (url, protocols) { return new WS(String(url).replace("/api/v1/ws", "/api/v1/no-websockets-here"), protocols); };
			  window.WebSocket.prototype = WS.prototype;
			  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 }); })();`})
		return err
	})
}

// fetchGzipSize returns the size of url's body as sent with Accept-Encoding: gzip.
func fetchGzipSize(t *testing.T, url string) int {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("widget.js not gzipped: %v", res.Header)
	}
	return len(b)
}

// uploaderFor posts files to a node's attachment endpoint.
type uploaderFor struct {
	t    *testing.T
	base string
}

func newUploaderFor(t *testing.T, base string) *uploaderFor { return &uploaderFor{t: t, base: base} }

func (u *uploaderFor) upload(token, conv, name string, body []byte) {
	u.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(body)
	mw.Close()
	req, _ := http.NewRequest("POST", u.base+"/api/v1/conversations/"+conv+"/attachments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(res.Body)
		u.t.Fatalf("upload %q: %d %s", name, res.StatusCode, b)
	}
}

func pngBytes(t *testing.T) []byte {
	b, err := os.ReadFile(pngFile(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// enter presses Enter as a keyboard does: one keydown carrying the text, whose default the page may prevent.
// (chromedp's KeyEvent adds a separate "char" event, which inserts a line break even when the keydown was
// prevented — no real keyboard does that.)
func (tb *tab) enter() {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13,
			NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, down); err != nil {
			return err
		}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		_, err := chromedp.Call(ctx, input.DispatchKeyEvent, up)
		return err
	})
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
