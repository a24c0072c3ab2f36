package main

import (
	"runtime"
	"testing"
)

// Without GOMAXPROCS the server takes one Go processor more than Go chose; with it, exactly what it says.
func TestSetProcs(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(before)

	if got := setProcs(func(string) string { return "" }); got != before+spareProcs {
		t.Errorf("without GOMAXPROCS: %d processors, want %d", got, before+spareProcs)
	}
	runtime.GOMAXPROCS(before)
	if got := setProcs(func(k string) string {
		if k == "GOMAXPROCS" {
			return "2"
		}
		return ""
	}); got != before {
		t.Errorf("with GOMAXPROCS set: %d processors, want Go's own %d left alone", got, before)
	}
}
