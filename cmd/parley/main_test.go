package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package when a run leaves goroutines behind after it returned.
func TestMain(m *testing.M) {
	bcryptCost = 4 // bcrypt's minimum: at the default cost each hash takes seconds under -race
	goleak.VerifyTestMain(m)
}

// syncBuffer collects what run writes to stdout or stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a fake environment for run.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// runOnce runs a command that ends by itself (migrate, admin, version) and returns its output.
func runOnce(t *testing.T, e env, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = run(ctx, args, e.get, &out, &errb)
	return out.String(), errb.String(), err
}

// server is `parley serve` running in-process.
type server struct {
	t      *testing.T
	URL    string
	Stdout *syncBuffer
	Stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

var listeningRe = regexp.MustCompile(`listening on (\S+)`)

// startServe runs `parley serve` with env (PARLEY_ADDR defaults to 127.0.0.1:0) until the test ends or stop is
// called, and waits for it to print the address it listens on.
func startServe(t *testing.T, e env, args ...string) *server {
	t.Helper()
	if e["PARLEY_ADDR"] == "" {
		e["PARLEY_ADDR"] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, append([]string{"serve"}, args...), e.get, s.Stdout, s.Stderr) }()
	t.Cleanup(func() { s.stop() })
	deadline := time.After(2 * time.Minute)
	for {
		if m := listeningRe.FindStringSubmatch(s.Stdout.String()); m != nil {
			s.URL = "http://" + m[1]
			return s
		}
		select {
		case err := <-s.done:
			s.once.Do(func() { s.err = err })
			t.Fatalf("serve ended before listening: %v\nstdout:\n%s\nstderr:\n%s", err, s.Stdout, s.Stderr)
		case <-deadline:
			t.Fatalf("serve did not print its address in time\nstdout:\n%s\nstderr:\n%s", s.Stdout, s.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop cancels the run's context, as SIGTERM does, and returns what run returned.
func (s *server) stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(time.Minute):
			s.err = errors.New("serve did not return within a minute of cancellation")
		}
	})
	return s.err
}

// credentials reads the first admin's e-mail and password from the first-run banner.
func credentials(t *testing.T, stdout string) (email, password string) {
	t.Helper()
	em := regexp.MustCompile(`e-mail:\s+(\S+)`).FindStringSubmatch(stdout)
	pw := regexp.MustCompile(`password:\s+(\S+)`).FindStringSubmatch(stdout)
	if em == nil || pw == nil {
		t.Fatalf("no credentials in the first-run output:\n%s", stdout)
	}
	return em[1], pw[1]
}

// login logs in over the HTTP API and returns the status and the session token.
func login(t *testing.T, baseURL, email, password string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	res, err := http.Post(baseURL+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.Token
}

// get fetches path with an optional Bearer token and returns the status and body.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}
