// Command parley is Parley's server and its administration tool. main only wires the process to run.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // business hours name IANA zones; a minimal host or container may have no zoneinfo

	"github.com/parley-chat/parley/internal/config"
)

func main() {
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
