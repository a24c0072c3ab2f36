package store

import (
	"strings"
	"testing"
)

func TestBufferPoolAdvice(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		pool, data int64
		warn       bool
	}{
		{128 * mib, 3000 * mib, true},
		{128 * mib, 128 * mib, false},
		{8192 * mib, 3000 * mib, false},
		{0, 3000 * mib, false}, // not InnoDB or unknown
		{128 * mib, 0, false},  // empty or unknown
	} {
		got := bufferPoolAdvice(c.pool, c.data)
		if (got != "") != c.warn {
			t.Errorf("pool %d MiB, data %d MiB: advice %q, want a warning: %v", c.pool/mib, c.data/mib, got, c.warn)
		}
		if c.warn && !strings.Contains(got, "3000 MiB") || c.warn && !strings.Contains(got, "128 MiB") {
			t.Errorf("advice %q does not name both sizes", got)
		}
	}
}
