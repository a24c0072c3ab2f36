package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestQuietGC checks that the generator raises its GC target and sets a soft memory limit, and that it leaves
// both alone when the environment sets them.
func TestQuietGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	quietGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != generatorGCPercent {
		t.Errorf("GC percent %d, want %d", got, generatorGCPercent)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != generatorMemoryCap {
		t.Errorf("memory limit %d, want %d", got, generatorMemoryCap)
	}

	env := map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(1 << 30)
	quietGC(func(k string) string { return env[k] })
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("with GOGC set: GC percent %d, want it left at 50", got)
	}
	if got := debug.SetMemoryLimit(math.MaxInt64); got != 1<<30 {
		t.Errorf("with GOMEMLIMIT set: memory limit %d, want it left at 1 GiB", got)
	}
}
