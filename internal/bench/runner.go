package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options are the benchmark's settings (the flags of cmd/parley-bench).
type Options struct {
	Scenario  string
	Smoke     bool
	DB        string // mysql://... base DSN: a fresh database is created on that server; "" = SQLite
	Keep      bool   // keep the temporary directory (server log, database)
	Profile   string // write a CPU profile of the server taken during the load window to this file
	DebugAddr string // pprof listener of the server (default: a free loopback port when Profile is set)
	Duration  time.Duration
	Rate      float64
	Conns     int // customers or connections, overriding the scenario's setting
	Agents    int
	Workers   int
	// NoStall makes S10 a control run: the slow agents follow the same conversations but never stop reading,
	// so its p99_ratio is what the second half's larger database and the machine's noise alone give.
	NoStall bool
	Stderr  io.Writer
}

// Runner runs one scenario.
type Runner struct {
	o     Options
	tmp   string
	bin   string
	exe   string
	db    *Database
	srv   *Server
	setup *Setup
	res   *Result

	logMu sync.Mutex

	genPids []int // generator worker processes, for their CPU time
}

// Run executes the scenario and returns its result. A returned error means the benchmark could not run.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	o.Scenario = strings.ToUpper(o.Scenario)
	if o.Duration > MaxDuration || o.Conns > MaxConnections || o.Agents > 1000 || o.Rate > 100000 || o.Workers > 16 {
		return nil, fmt.Errorf("refusing an unbounded run: at most -duration %s, -customers %d, -agents 1000, -rate 100000, -workers 16",
			MaxDuration, MaxConnections)
	}
	if o.NoStall && o.Scenario != "S10" {
		return nil, fmt.Errorf("-no-stall is S10's control run; -scenario is %s", o.Scenario)
	}
	r := &Runner{o: o}
	store := "sqlite"
	if o.DB != "" {
		store = "mysql"
	}
	r.res = &Result{Scenario: o.Scenario, Store: store, Params: map[string]any{"smoke": o.Smoke}, Extra: map[string]any{}}
	scenario, ok := scenarios[o.Scenario]
	if !ok {
		names := make([]string, 0, len(scenarios))
		for k := range scenarios {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown scenario %q; choose one of %s", o.Scenario, strings.Join(names, ", "))
	}
	if o.Scenario == "W1" {
		return r.res, scenario(ctx, r)
	}
	if err := r.prepare(ctx); err != nil {
		r.cleanup()
		return nil, err
	}
	defer r.cleanup()
	started := time.Now()
	if err := scenario(ctx, r); err != nil {
		r.logf("failed: %v (server log: %s)", err, r.srv.LogPath)
		return nil, err
	}
	r.res.Extra["wall_s"] = round2(time.Since(started).Seconds())
	return r.res, nil
}

func (r *Runner) logf(format string, a ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.o.Stderr, "parley-bench %s: "+format+"\n", append([]any{r.o.Scenario}, a...)...)
}

// prepare builds the server, creates the database and starts the server.
func (r *Runner) prepare(ctx context.Context) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	if r.exe, err = Executable(); err != nil {
		return err
	}
	r.tmp, err = os.MkdirTemp("", "parley-bench-")
	if err != nil {
		return err
	}
	start := time.Now()
	if r.bin, err = Build(ctx, root, r.tmp); err != nil {
		return err
	}
	r.logf("built parley in %s; working directory %s", time.Since(start).Round(time.Millisecond), r.tmp)
	// The SQLite store syncs its log at every commit: how long a sync takes on this disk, today, is part of
	// every figure (the same machine kind has measured 0.1 and 0.7 ms).
	if p50, p99, err := SyncProbe(r.tmp, 200); err != nil {
		r.logf("disk sync probe: %v", err)
	} else {
		r.res.Extra["disk_sync_ms"] = map[string]float64{"p50": round2(ms(p50)), "p99": round2(ms(p99))}
		r.logf("disk: a 56 KiB write and its fsync take p50 %.2f ms, p99 %.2f ms here", ms(p50), ms(p99))
	}
	dataDir := filepath.Join(r.tmp, "data")
	if r.o.DB != "" {
		if r.db, err = FreshMySQL(ctx, r.o.DB); err != nil {
			return err
		}
		r.logf("created database %s (innodb_buffer_pool_size %d MiB)", r.db.name, r.db.BufferPool>>20)
		r.res.Extra["db_buffer_pool_bytes"] = r.db.BufferPool
	} else {
		r.db = &Database{Kind: "sqlite", DataDir: dataDir}
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	r.srv = &Server{Bin: r.bin, DataDir: dataDir, DB: r.db.URL, Port: port, Email: "bench@example.com",
		Password: "bench-" + strings.ToLower(rand.Text()[:16]), LogPath: filepath.Join(r.tmp, "server.log"),
		// Load tests send far above the per-customer default (2 msgs/s); everything else is the default.
		Extra: []string{"-customer-msg-rate", "1000", "-customer-msg-burst", "2000"}}
	if r.o.Profile != "" && r.o.DebugAddr == "" {
		dp, err := FreePort()
		if err != nil {
			return err
		}
		r.o.DebugAddr = fmt.Sprintf("127.0.0.1:%d", dp)
	}
	r.srv.DebugAddr = r.o.DebugAddr
	if err := r.srv.Run(ctx); err != nil {
		return err
	}
	if r.srv.SiteKey == "" {
		return fmt.Errorf("the server did not print its site key (data-site=...) on first run; see %s", r.srv.LogPath)
	}
	r.res.Params["server_flags"] = strings.Join(r.srv.Extra, " ")
	r.setup, err = NewSetup(ctx, r.srv.URL, r.srv.SiteKey, r.srv.Email, r.srv.Password)
	if err != nil {
		return err
	}
	r.setup.Log = r.logf
	return nil
}

func (r *Runner) cleanup() {
	if r.setup != nil {
		r.setup.Close()
	}
	if r.srv != nil {
		r.srv.Close()
	}
	if r.db != nil && r.db.Kind == "mysql" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := r.db.Drop(ctx); err != nil {
			r.logf("drop database %s: %v", r.db.name, err)
		}
		cancel()
	}
	if r.tmp != "" {
		if r.o.Keep {
			r.logf("kept %s", r.tmp)
		} else {
			os.RemoveAll(r.tmp)
		}
	}
}

// pick returns the smoke or the full setting.
func (r *Runner) pick(full, smoke int) int {
	if r.o.Smoke {
		return smoke
	}
	return full
}

func (r *Runner) pickD(full, smoke time.Duration) time.Duration {
	if r.o.Duration > 0 {
		return r.o.Duration
	}
	if r.o.Smoke {
		return smoke
	}
	return full
}

// usage is a snapshot of the server's and the database's resource use.
type usage struct {
	at     time.Time
	server Usage
	db     Usage
	gen    time.Duration // CPU time of this process and the generator workers
	genGC  uint64        // garbage collections of this process
	mach   MachineCPU    // the whole machine's, for what neither the server nor the generator took
}

func (r *Runner) usage() usage {
	u := usage{at: time.Now(), genGC: gcCycles()}
	u.mach, _ = ReadMachineCPU()
	u.server, _ = ProcUsage(r.srv.Pid())
	for _, pid := range append([]int{os.Getpid()}, r.genPids...) {
		if g, err := ProcUsage(pid); err == nil {
			u.gen += g.CPU
		}
	}
	if r.db.Kind == "mysql" {
		if pid := FindProcess("mariadbd"); pid > 0 {
			u.db, _ = ProcUsage(pid)
		} else if pid := FindProcess("mysqld"); pid > 0 {
			u.db, _ = ProcUsage(pid)
		}
	}
	return u
}

// gcCycles is the number of garbage collections this process has completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// cost fills the server-cost fields from two snapshots and the number of messages between them.
func (r *Runner) cost(a, b usage, msgs int64) {
	r.res.ServerRSSBytes = b.server.RSS
	if msgs > 0 {
		r.res.ServerCPUUSPerMsg = ptr(round2(float64((b.server.CPU - a.server.CPU).Microseconds()) / float64(msgs)))
		if r.db.Kind == "mysql" && b.db.CPU > 0 {
			r.res.Extra["db_cpu_us_per_msg"] = round2(float64((b.db.CPU - a.db.CPU).Microseconds()) / float64(msgs))
		}
	}
	if wall := b.at.Sub(a.at).Seconds(); wall > 0 {
		r.res.Extra["server_cpu_pct"] = round2(100 * (b.server.CPU - a.server.CPU).Seconds() / wall)
		// The generator shares the two cores with the server: what it takes, the server cannot have.
		r.res.Extra["generator_cpu_pct"] = round2(100 * (b.gen - a.gen).Seconds() / wall)
		r.res.Extra["generator_gc_cycles"] = b.genGC - a.genGC
		if r.db.Kind == "mysql" {
			r.res.Extra["db_cpu_pct"] = round2(100 * (b.db.CPU - a.db.CPU).Seconds() / wall)
		}
		if m, ok := machineShares(a, b); ok {
			r.res.Extra["other_cpu_pct"], r.res.Extra["steal_pct"], r.res.Extra["idle_cpu_pct"] = m.Other, m.Steal, m.Idle
		}
	}
}

// machineShare is how busy the machine was besides the benchmark, in percent of one CPU like server_cpu_pct:
// Other (other_cpu_pct) the CPU time of every other process (and the kernel's work for none of them), Steal
// (steal_pct) the time the hypervisor gave this machine's CPUs to someone else, Idle (idle_cpu_pct) what was
// left. On a shared machine these tell a run that measured the server from one that measured its neighbours.
type machineShare struct{ Other, Steal, Idle float64 }

// machineShares is the machine's share between two snapshots; false when /proc/stat could not be read.
func machineShares(a, b usage) (machineShare, bool) {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 || a.mach == (MachineCPU{}) || b.mach == (MachineCPU{}) {
		return machineShare{}, false
	}
	ours := (b.server.CPU - a.server.CPU) + (b.gen - a.gen) + (b.db.CPU - a.db.CPU)
	// /proc/stat and the processes' own counters are read at slightly different moments, in 10 ms ticks: a
	// quiet machine may come out a tick or two below zero.
	other := max(0, (b.mach.Busy-a.mach.Busy)-ours)
	return machineShare{Other: round2(100 * other.Seconds() / wall),
		Steal: round2(100 * (b.mach.Steal - a.mach.Steal).Seconds() / wall),
		Idle:  round2(100 * (b.mach.Idle - a.mach.Idle).Seconds() / wall)}, true
}

// serverMetrics copies a few of the server's own figures into the result, from one read of its /metrics: the
// group commit's batch size and duration, averaged over the run, and the server's own view of the latency.
func (r *Runner) serverMetrics() {
	text, err := metricsText(r.srv.URL)
	if err != nil {
		return
	}
	avg := func(name string, scale float64) any {
		sum, _ := metricValue(text, name+"_sum").(float64)
		n, _ := metricValue(text, name+"_count").(float64)
		if n == 0 {
			return nil
		}
		return round2(sum / n * scale)
	}
	r.res.Extra["commit_batch_avg"] = avg("parley_commit_batch_size", 1)
	r.res.Extra["commit_ms_avg"] = avg("parley_commit_duration_seconds", 1000)
	r.res.Extra["commits"] = metricValue(text, "parley_commit_batch_size_count")
	// From a send frame's receipt to its durable acknowledgement (parley_ack_latency_seconds), so a tail the
	// clients see but the server does not is the transport's or the generator's. Estimated from the
	// histogram's buckets, as fine as they are.
	ack := parsePromHistogram(text, "parley_ack_latency_seconds")
	if q := promQuantile(ack, 0.99); !math.IsNaN(q) {
		r.res.Extra["server_ack_p99_ms"] = round2(q * 1000)
		if n := promAbove(ack, 0.025); !math.IsNaN(n) {
			r.res.Extra["server_ack_over_25ms_pct"] = round2(100 * n / ack[len(ack)-1].count)
		}
	}
	commits := parsePromHistogram(text, "parley_commit_duration_seconds")
	if n := promAbove(commits, 0.025); !math.IsNaN(n) {
		r.res.Extra["commits_over_25ms"] = n
	}
	// The slow commits below 25 ms too: a commit of 5-25 ms holds every send that arrives meanwhile.
	if n := promAbove(commits, 0.005); !math.IsNaN(n) {
		r.res.Extra["commits_over_5ms"] = n
	}
}

// metricsText is the server's /metrics page.
func metricsText(base string) (string, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return string(b), nil
}

// progress prints a status line every two seconds until stop is called.
func (r *Runner) progress(line func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		prev := r.usage()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			u := r.usage()
			cpu := 100 * (u.server.CPU - prev.server.CPU).Seconds() / u.at.Sub(prev.at).Seconds()
			machine := ""
			if m, ok := machineShares(prev, u); ok {
				machine = fmt.Sprintf(" | others %.0f%% steal %.0f%%", m.Other, m.Steal)
			}
			prev = u
			r.logf("%s | server cpu %.0f%% rss %.0f MiB fds %d%s", line(), math.Max(cpu, 0), float64(u.server.RSS)/(1<<20), u.server.FDs, machine)
		}
	}()
	return func() { close(done); wg.Wait() }
}

// profile takes a CPU profile of the server over d and writes it to the -cpuprofile file (or to path, when
// given). The returned function waits until the profile is written.
func (r *Runner) profile(d time.Duration, path ...string) (wait func()) {
	if r.o.Profile == "" || r.o.DebugAddr == "" {
		return func() {}
	}
	out := r.o.Profile
	if len(path) > 0 {
		out = path[0]
	}
	secs := max(1, int(d.Seconds()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := http.Client{Timeout: d + 30*time.Second}
		resp, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.o.DebugAddr, secs))
		if err != nil {
			r.logf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			r.logf("profile: %s", resp.Status)
			return
		}
		f, err := os.Create(out)
		if err != nil {
			r.logf("profile: %v", err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			r.logf("profile: %v", err)
			return
		}
		r.logf("wrote the server's CPU profile (%d s) to %s", secs, out)
	}()
	return func() { <-done }
}

// gens is the set of generators of a run.
type gens struct {
	local   *Engine
	workers []*Worker
}

func (g *gens) all() []Gen {
	out := []Gen{}
	if g.local != nil {
		out = append(out, g.local)
	}
	for _, w := range g.workers {
		out = append(out, w)
	}
	return out
}

func (g *gens) close() {
	for _, x := range g.all() {
		x.Close()
	}
}

// status sums the generators' statuses.
func (g *gens) status() (Status, []Status, error) {
	var sum Status
	var each []Status
	for _, x := range g.all() {
		st, err := x.Status()
		if err != nil {
			return sum, nil, err
		}
		each = append(each, st)
		sum.Clients += st.Clients
		sum.Connected += st.Connected
		sum.Resumed += st.Resumed
		sum.LastResume = math.Max(sum.LastResume, st.LastResume)
		sum.Sent += st.Sent
		sum.Acked += st.Acked
		sum.Errors += st.Errors
		sum.Pending += st.Pending
		sum.Delivered += st.Delivered
		sum.Echoed += st.Echoed
		sum.Events += st.Events
		sum.Shown += st.Shown
		sum.Stalled += st.Stalled
	}
	return sum, each, nil
}

func (g *gens) run(ph Phase) error {
	for _, x := range g.all() {
		if err := x.Run(ph); err != nil {
			return err
		}
	}
	return nil
}

func (g *gens) phase(id int) (*PhaseResult, error) {
	out := newPhaseResult()
	for _, x := range g.all() {
		p, err := x.Phase(id)
		if err != nil {
			return nil, err
		}
		out.merge(p)
	}
	return out, nil
}

func (g *gens) finish() (*EngineResult, error) {
	out := &EngineResult{}
	for _, x := range g.all() {
		res, err := x.Finish()
		if err != nil {
			return nil, err
		}
		out.Merge(res)
	}
	return out, nil
}

// drain waits until every send has its answer, no slow client is stalled, and every message stored since the
// run began reached its receivers (`receivers` per message on average; only a count, so a stalled reader could
// hide behind others' extra frames), with the stored messages unchanged for a second: an
// overloaded server still commits sends whose senders gave up waiting. It gives up after maxWait, and returns the
// conversations' heads as of its last look, which the receivers are then held to.
func (g *gens) drain(ctx context.Context, receivers float64, stored func() (int64, map[string]uint64, error), maxWait time.Duration) (Status, map[string]uint64, error) {
	deadline := time.Now().Add(maxWait)
	var lastStored int64 = -1
	stable := 0
	for {
		// The heads first: receipts counted after them cover at least those messages.
		n, heads, err := stored()
		if err != nil {
			return Status{}, nil, err
		}
		st, _, err := g.status()
		if err != nil {
			return st, nil, err
		}
		if n == lastStored {
			stable++
		} else {
			stable = 0
		}
		lastStored = n
		done := st.Pending == 0 && st.Stalled == 0 && float64(st.Shown) >= receivers*float64(n)
		if (done && stable >= 5) || time.Now().After(deadline) {
			return st, heads, nil
		}
		select {
		case <-ctx.Done():
			return st, heads, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// storedSince returns a function reporting the conversations' heads and how many messages were stored in them
// since now.
func (r *Runner) storedSince(ctx context.Context, convs []string) (func() (int64, map[string]uint64, error), func(), error) {
	db, err := r.db.Open()
	if err != nil {
		return nil, nil, err
	}
	sum := func() (int64, map[string]uint64, error) {
		heads, err := Heads(ctx, db, convs)
		if err != nil {
			return 0, nil, err
		}
		var n int64
		for _, h := range heads {
			n += int64(h)
		}
		return n, heads, nil
	}
	base, _, err := sum()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return func() (int64, map[string]uint64, error) {
		n, heads, err := sum()
		return n - base, heads, err
	}, func() { db.Close() }, nil
}
