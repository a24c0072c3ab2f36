package testenv

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Debian's chromium, or skips (fails under PARLEY_TEST_REQUIRE_ALL=1) when it is
// not installed. PARLEY_TEST_CHROMIUM overrides the path.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PARLEY_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "no chromium found: install Debian's chromium (apt-get install chromium) or set PARLEY_TEST_CHROMIUM")
	return ""
}

// Browser starts a headless Chromium for the test and returns a context for chromedp actions in a first tab.
// Extra flags (e.g. "lang", "accept-lang") may be given as name, value pairs. The browser stops when the test
// ends.
func Browser(t testing.TB, flags ...any) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	for i := 0; i+1 < len(flags); i += 2 {
		opts = append(opts, chromedp.Flag(flags[i].(string), flags[i+1]))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	// Start the browser now, so a broken installation fails here with a clear message. (The first run must
	// not carry a timeout: it would stop the whole browser when it fires.)
	if err := chromedp.Do(ctx); err != nil {
		cancelB()
		cancelA()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelB()
		cancelA()
	})
	return ctx
}
