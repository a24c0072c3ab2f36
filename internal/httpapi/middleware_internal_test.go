package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/metrics"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// panicServer wraps h in the same middleware chain as Handler, around a handler instead of the route table.
func panicServer(t *testing.T, h http.HandlerFunc) (*Server, *httptest.Server, *lockedBuffer) {
	t.Helper()
	cfg, err := config.Load("serve", []string{"-data-dir", t.TempDir()}, func(string) string { return "" }, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s := New(Deps{Config: cfg, Metrics: metrics.New(), Log: slog.New(slog.NewTextHandler(logs, nil))})
	mux := http.NewServeMux()
	mux.Handle("/boom", h)
	var handler http.Handler = mux
	handler = s.observe(s.recoverPanics(s.securityHeaders(handler)))
	hs := httptest.NewServer(handler)
	t.Cleanup(hs.Close)
	return s, hs, logs
}

func TestPanicBecomes500JSON(t *testing.T) {
	s, hs, logs := panicServer(t, func(w http.ResponseWriter, r *http.Request) {
		var m map[string]int
		m["nil map"]++ // a real bug: assignment to a nil map
	})
	res, err := http.Get(hs.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 500 || body.Error.Code != "internal" || body.Error.Message != "internal error" {
		t.Fatalf("%d %+v", res.StatusCode, body)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("security headers missing on the 500")
	}
	if strings.Contains(body.Error.Message, "nil map") {
		t.Fatal("the panic value leaked to the client")
	}
	rec := httptest.NewRecorder()
	s.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{"parley_panics_recovered_total 1", `parley_http_requests_total{code="500",method="GET",route="/boom"} 1`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	l := logs.String()
	if !strings.Contains(l, "panic in handler") || !strings.Contains(l, "nil map") || !strings.Contains(l, "goroutine") {
		t.Fatalf("the panic is not logged with its stack: %s", l)
	}
	// The server lives on.
	res2, err := http.Get(hs.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 500 {
		t.Fatalf("second request: %d", res2.StatusCode)
	}
}

func TestPanicAfterTheHeaderCutsTheResponse(t *testing.T) {
	_, hs, _ := panicServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.Write([]byte("partial"))
		panic("half way")
	})
	res, err := http.Get(hs.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	// The status was sent already; the client must see a truncated body, not a 500 appended to it.
	if err == nil || strings.Contains(string(b), "internal") {
		t.Fatalf("body %q, err %v: want a cut-off response", b, err)
	}
}

func TestClientIPAndMasking(t *testing.T) {
	cfg, err := config.Load("serve", []string{"-data-dir", t.TempDir(), "-trusted-proxies", "10.0.0.0/8,::1"}, func(string) string { return "" }, io.Discard, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: cfg}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.9:5000", []string{"1.2.3.4"}, "203.0.113.9"},                          // untrusted peer: header ignored
		{"10.1.2.3:5000", []string{"198.51.100.7"}, "198.51.100.7"},                       // trusted proxy
		{"10.1.2.3:5000", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},              // client-prepended value ignored
		{"10.1.2.3:5000", []string{"198.51.100.7, 10.9.9.9"}, "198.51.100.7"},             // chain of proxies
		{"10.1.2.3:5000", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},            // several header lines
		{"10.1.2.3:5000", nil, "10.1.2.3"},                                                // no header
		{"10.1.2.3:5000", []string{"garbage"}, "10.1.2.3"},                                // unparsable: the peer
		{"[::1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},                            // IPv6
		{"[::ffff:10.1.2.3]:5000", []string{"198.51.100.8"}, "198.51.100.8"},              // v4-mapped proxy
		{"10.1.2.3:5000", []string{"10.4.4.4, 10.5.5.5"}, "10.1.2.3"},                     // only proxies
		{"203.0.113.9:5000", []string{"10.1.1.1"}, "203.0.113.9"},                         // a client claiming to be a proxy
		{"10.1.2.3:5000", []string{"198.51.100.7, ::ffff:203.0.113.1"}, "203.0.113.1"},    // mapped client
		{"10.1.2.3:5000", []string{" 198.51.100.7 ,  198.51.100.9 "}, "198.51.100.9"},     // spaces
		{"10.1.2.3:5000", []string{"198.51.100.7,"}, "10.1.2.3"},                          // empty element: refuse to guess
		{"not-an-address", []string{"198.51.100.7"}, "not-an-address"},                    // odd RemoteAddr
		{"203.0.113.9:5000", []string{"198.51.100.7"}, "203.0.113.9"},                     // again, untrusted
		{"10.255.255.255:1", []string{"2001:db8::2, 10.0.0.1"}, "2001:db8::2"},            // mixed families
		{"[2001:db8::5]:5000", []string{"198.51.100.7"}, "2001:db8::5"},                   // untrusted v6 peer
		{"10.1.2.3:5000", []string{"198.51.100.7:1234"}, "10.1.2.3"},                      // host:port is not an address
		{"10.1.2.3:5000", []string{"198.51.100.7", "garbage"}, "10.1.2.3"},                // bad last line
		{"10.1.2.3:5000", []string{"garbage", "198.51.100.7"}, "198.51.100.7"},            // bad first line, never reached
		{"10.1.2.3:5000", []string{"198.51.100.7, 10.0.0.1, ::1"}, "198.51.100.7"},        // v6 proxy in the chain
		{"10.1.2.3:5000", []string{"[2001:db8::1]"}, "10.1.2.3"},                          // bracketed v6 is not an address
		{"10.1.2.3:5000", []string{"unknown"}, "10.1.2.3"},                                // nginx's "unknown"
		{"10.1.2.3:5000", []string{"198.51.100.7", "", "198.51.100.8"}, "198.51.100.8"},   // empty line in the middle
		{"10.1.2.3:5000", []string{"1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4"}, "4.4.4.4"},         // long chain
		{"10.1.2.3:5000", []string{"198.51.100.7\t"}, "198.51.100.7"},                     // tab
		{"10.1.2.3:5000", []string{"0.0.0.0"}, "0.0.0.0"},                                 // odd but an address
		{"10.1.2.3:5000", []string{"255.255.255.255"}, "255.255.255.255"},                 // broadcast
		{"10.1.2.3:5000", []string{"198.51.100.7 , 10.2.2.2 , 10.3.3.3"}, "198.51.100.7"}, // several proxies
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("remote %s, XFF %q: %q, want %q", c.remote, c.xff, got, c.want)
		}
	}
	for in, want := range map[string]string{"203.0.113.7": "203.0.113.0", "2001:db8:1:2::9": "2001:db8:1::", "x": ""} {
		if got := maskIP(in); got != want {
			t.Errorf("maskIP(%q) = %q, want %q", in, got, want)
		}
	}
}
