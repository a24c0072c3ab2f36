// Command parley is Parley's server and its administration tool. main only wires the process to run.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	_ "time/tzdata" // business hours name IANA zones; a minimal host or container may have no zoneinfo

	"github.com/parley-chat/parley/internal/config"
)

// spareProcs is how many more Go processors (Ps) than CPUs the process runs with when GOMAXPROCS is not set.
// On SQLite the group commit's goroutine blocks in fsync about a thousand times a second; while it is blocked
// the runtime gives its P to other goroutines, and with only as many Ps as CPUs it came back to find every P
// busy with the WebSocket connections' work and waited in the run queue, with every sender of its batch. In S1
// on SQLite (2 vCPUs) 38 to 43 of a minute's log syncs took 25 ms or more, timed around the call, while the
// same file synced alone never took 3 ms; with two spare Ps two or three did. S1's p99: 26.4-35.4 ms (median
// 29.8, eight runs) with none, 20.5 and 23.7 with one, 19.7-28.7 (median 23.6, five runs) with two, for ~3 %
// more CPU per message (docs/benchmarks.md, History 2026-12-07). One: the committer is the one goroutine on
// the commit path that blocks in a system call, and every P more is one more share of the collector's.
const spareProcs = 1

// setProcs gives the process spareProcs more Go processors than Go chose, unless GOMAXPROCS is set (then Go
// has applied it and it stays). It returns the number in effect.
func setProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + spareProcs)
	}
	return runtime.GOMAXPROCS(0)
}

func main() {
	setProcs(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err == nil || errors.Is(err, config.ErrHelp) {
		return
	}
	fmt.Fprintln(os.Stderr, "parley:", err)
	var ue *config.UsageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}
