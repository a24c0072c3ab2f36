package bench

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play a generator worker that reads its requests and never answers, as one
// stuck in a wait would.
func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_BENCH_TEST_STUCK_WORKER") == "1" {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
		}
		select {}
	}
	os.Exit(m.Run())
}

// A worker that does not answer in time ends the call with an error that says which request, and leaves its
// goroutines' stacks in its log (SIGQUIT); later calls fail at once with the same error.
func TestWorkerStuck(t *testing.T) {
	old := opTimeouts[""]
	opTimeouts[""] = 300 * time.Millisecond
	t.Cleanup(func() { opTimeouts[""] = old })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PARLEY_BENCH_TEST_STUCK_WORKER", "1")
	logPath := t.TempDir() + "/worker-0.log"
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	w, err := StartWorker(exe, EngineSpec{}, logf)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, err = w.Status()
	if err == nil || !strings.Contains(err.Error(), `no answer to "status"`) {
		t.Fatalf("status of a stuck worker: %v", err)
	}
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the stuck worker is still running")
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), "SIGQUIT") || !strings.Contains(string(b), "goroutine ") {
		t.Fatalf("the stuck worker's log has no stacks: %q", b)
	}
	if _, err2 := w.Status(); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("a later call: %v, want %v", err2, err)
	}
}
