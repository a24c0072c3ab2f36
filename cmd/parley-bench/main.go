// Command parley-bench runs Parley's benchmark scenarios (../../shared/PERFORMANCE.md and docs/benchmarks.md):
// it builds `parley` from this checkout, runs it as a child process on a temporary data directory (or a fresh
// MySQL/MariaDB database with -db), drives it over real WebSocket and HTTP connections from loopback source
// addresses, checks every acknowledged message against the database and every receiver's view for loss,
// duplication and reordering, and writes one JSON object.
//
// The exit status is 0 when the delivery contract held and nothing failed, 1 when a message was lost,
// duplicated or reordered or a request failed, and 2 when the benchmark could not run. Timings never fail a
// run: CI runs the smoke settings for correctness, people read the figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/parley-chat/parley/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	var fe failedError
	switch {
	case err == nil:
	case errors.As(err, &fe):
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		os.Exit(1)
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		os.Exit(2)
	}
}

// failedError is a completed run that broke the delivery contract or had errors.
type failedError struct{ msg string }

func (e failedError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bench.Options
	var out string
	var worker, warmup bool
	var runs int
	fs.StringVar(&o.Scenario, "scenario", "S1", "scenario: S1, S2, S3, S4, S5, S6, S9, S10 or W1")
	fs.BoolVar(&o.Smoke, "smoke", false, "the scenario's smoke setting (well under a minute; what CI runs)")
	fs.StringVar(&o.DB, "db", "", "MySQL/MariaDB server, e.g. mysql://root@127.0.0.1:3306/test: a fresh database is created on it and dropped after; empty = SQLite")
	fs.StringVar(&out, "out", "", "write the JSON result to this file (default: standard output)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary directory (server log, SQLite file)")
	fs.StringVar(&o.Profile, "cpuprofile", "", "take a CPU profile of the server over the load window (pprof on a loopback debug listener) and write it here")
	fs.StringVar(&o.DebugAddr, "debug-addr", "", "the server's pprof listener (loopback); default a free port when -cpuprofile is set")
	fs.DurationVar(&o.Duration, "duration", 0, "override the load window (S2: each step)")
	fs.Float64Var(&o.Rate, "rate", 0, "override the offered rate, messages (S5: conversations) per second")
	fs.IntVar(&o.Conns, "customers", 0, "override the number of customers (S3: connections)")
	fs.IntVar(&o.Agents, "agents", 0, "override the number of agents")
	fs.IntVar(&o.Workers, "workers", 0, "override the number of generator worker processes")
	fs.IntVar(&runs, "runs", 1, "run the scenario this many times (1 to 9), each on a fresh server and database, and write the median run with every run's figures and each figure's median and spread")
	fs.BoolVar(&warmup, "warmup", false, "with -runs: one more run first, discarded")
	fs.BoolVar(&o.NoStall, "no-stall", false, "S10 only: a control run in which the slow agents never stop reading; its p99_ratio is the noise to judge a normal run's against")
	var timeout time.Duration
	fs.DurationVar(&timeout, "timeout", 0, "give up after this long: write where the benchmark is waiting (every goroutine's stack) and exit with status 3 (default 60m per run, 10m with -smoke)")
	var genProfile string
	fs.StringVar(&genProfile, "gen-cpuprofile", "", "take a CPU profile of every generator process (this one and its workers) over its whole life and write it to PREFIX.main.PID and PREFIX.worker.PID")
	fs.BoolVar(&worker, "worker", false, "internal: run as a generator process driven through stdin/stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if genProfile != "" {
		os.Setenv(genProfileEnv, genProfile) // the worker processes inherit it
	}
	if prefix := os.Getenv(genProfileEnv); prefix != "" {
		stop, err := profileGenerator(prefix, worker)
		if err != nil {
			return err
		}
		defer stop()
	}
	if worker {
		return bench.ServeWorker(ctx, stdin, stdout)
	}
	o.Stderr = stderr
	if timeout <= 0 {
		per, n := 60*time.Minute, max(1, runs)
		if o.Smoke {
			per = 10 * time.Minute
		}
		if warmup {
			n++
		}
		timeout = per * time.Duration(n)
	}
	// Every wait in the benchmark is bounded, but a run that still hangs must end, and say where: the context
	// ends first (the waits that heed it return), and a minute later the process exits whatever it is doing.
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	watchdog := time.AfterFunc(timeout+time.Minute, func() {
		fmt.Fprintf(stderr, "parley-bench: still running %s after the -timeout of %s; every goroutine's stack follows\n", time.Minute, timeout)
		_ = pprof.Lookup("goroutine").WriteTo(stderr, 2)
		os.Exit(3) // the server and the generator processes die with this one (Pdeathsig)
	})
	defer watchdog.Stop()
	res, err := bench.Repeat(ctx, o, runs, warmup)
	if err != nil {
		return err
	}
	b, err := res.JSON()
	if err != nil {
		return err
	}
	if out == "" {
		_, err = stdout.Write(b)
	} else {
		err = os.WriteFile(out, b, 0o644)
		fmt.Fprintf(stderr, "parley-bench %s: wrote %s\n", res.Scenario, out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "parley-bench %s (%s): offered %.0f/s achieved %.1f/s sent %d acked %d delivered %d lost %d duplicated %d reordered %d errors %d p50 %.2f ms p99 %.2f ms\n",
		res.Scenario, res.Store, res.OfferedRate, res.AchievedRate, res.Sent, res.Acked, res.Delivered, res.Lost, res.Duplicated, res.Reordered, res.Errors,
		res.LatencyMS.P50, res.LatencyMS.P99)
	if note := res.BusyMachine(); note != "" {
		fmt.Fprintf(stderr, "parley-bench %s: %s\n", res.Scenario, note)
	}
	if res.Failed() {
		return failedError{fmt.Sprintf("%s broke the delivery contract or had errors: lost %d, duplicated %d, reordered %d, errors %d",
			res.Scenario, res.Lost, res.Duplicated, res.Reordered, res.Errors)}
	}
	return nil
}

// genProfileEnv hands -gen-cpuprofile's prefix to the generator's worker processes.
const genProfileEnv = "PARLEY_BENCH_GEN_CPUPROFILE"

// profileGenerator starts a CPU profile of this generator process, written to prefix.main.PID (or
// prefix.worker.PID) when stop is called. The generator shares the machine's cores with the server, so what it
// costs a message is the server's loss (docs/benchmarks.md).
func profileGenerator(prefix string, worker bool) (stop func(), err error) {
	role := "main"
	if worker {
		role = "worker"
	}
	f, err := os.Create(fmt.Sprintf("%s.%s.%d", prefix, role, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("-gen-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-gen-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
