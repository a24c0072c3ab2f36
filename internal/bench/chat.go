package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// chatCfg describes a population of conversations: one customer each, spread over the agents of the default
// team, every agent following its conversations directly (routing does not exist yet).
type chatCfg struct {
	customers, agents int
	period            time.Duration // each sending side writes into each conversation once per period
	customersSend     bool
	agentsSend        bool
	workers           int // generator processes for the customers; 0 = all in this process
	slowAgents        int // the first slowAgents agents stop reading during stalls (S10)
	from              uint64
	ackTimeout        time.Duration
	bodyBytes         int // message size (default 100 bytes)
}

// population is a set-up population with its generators.
type population struct {
	cfg         chatCfg
	customers   []*Account
	agents      []*Account
	convs       []string
	owner       []int // conversation i's agent
	g           gens
	totalWeight float64
	rate        float64           // the offered rate at cfg.period
	receivers   float64           // subscribers per conversation, on average
	snap        map[string]uint64 // conversations' heads when the receivers stopped listening
}

// slowSubs is how many conversations a slow agent follows.
const slowSubs = 120

// chatAccounts creates the agents and the customers with their conversations, both at once.
func (r *Runner) chatAccounts(ctx context.Context, cfg chatCfg) (*population, error) {
	ch := &population{cfg: cfg}
	start := time.Now()
	var agentErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		ch.agents, agentErr = r.setup.Agents(ctx, "agent", cfg.agents)
	}()
	var err error
	ch.customers, err = r.setup.Customers(ctx, "c", cfg.customers, true, func(n int) {
		if n%2000 == 0 {
			r.logf("setup: %d of %d customers", n, cfg.customers)
		}
	})
	<-done
	if err != nil {
		return nil, err
	}
	if agentErr != nil {
		return nil, agentErr
	}
	for i, c := range ch.customers {
		ch.convs = append(ch.convs, c.Convs[0])
		ch.owner = append(ch.owner, i%cfg.agents)
	}
	r.res.Extra["setup_s"] = round2(time.Since(start).Seconds())
	r.setup.Close()
	return ch, nil
}

// chatStart builds the clients, starts the generators and connects every client.
func (r *Runner) chatStart(ctx context.Context, ch *population) error {
	cfg := ch.cfg
	sides := 0.0
	if cfg.customersSend {
		sides++
	}
	if cfg.agentsSend {
		sides++
	}
	ch.rate = sides * float64(cfg.customers) / cfg.period.Seconds()
	var custSpecs, agentSpecs []ClientSpec
	for i, c := range ch.customers {
		s := ClientSpec{ID: fmt.Sprintf("c%d", i), Kind: "customer", Principal: c.ID, Token: c.Token,
			Subs: []string{ch.convs[i]}, From: cfg.from, IP: LocalIP(i / 200).String()}
		if cfg.customersSend {
			s.Send, s.Weight = s.Subs, 1
		}
		ch.totalWeight += s.Weight
		ch.receivers++
		custSpecs = append(custSpecs, s)
	}
	for j, a := range ch.agents {
		s := ClientSpec{ID: fmt.Sprintf("a%d", j), Kind: "agent", Principal: a.ID, Token: a.Token, From: cfg.from,
			IP: LocalIP(20000 + j/10).String(), Slow: j < cfg.slowAgents}
		for i, o := range ch.owner {
			if o == j {
				s.Subs = append(s.Subs, ch.convs[i])
			}
		}
		send := s.Subs
		if s.Slow {
			// A slow agent watches more conversations (a supervisor's view), so that what it does not read
			// outgrows the kernel's socket buffers (megabytes on loopback) within a stall. At most 120: the
			// client resubscribes with up to 500 cursors per frame, and more than about 140 cursors exceed the
			// server's 16 KiB frame limit, so such a client could never resume (see docs/benchmarks.md).
			for i, o := range ch.owner {
				if o != j && len(s.Subs) < slowSubs {
					s.Subs = append(s.Subs, ch.convs[i])
				}
			}
		}
		if cfg.agentsSend {
			s.Send, s.Weight = send, float64(len(send))
		}
		ch.totalWeight += s.Weight
		ch.receivers += float64(len(s.Subs))
		agentSpecs = append(agentSpecs, s)
	}
	ch.receivers /= float64(max(1, cfg.customers))
	base := EngineSpec{URL: r.srv.URL, AckTimeout: cfg.ackTimeout, MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 2 * time.Second, BodyBytes: max(cfg.bodyBytes, 100), SlowRcvBuf: 4096}
	r.res.Params["body_bytes"] = base.BodyBytes
	if v := os.Getenv("PARLEY_BENCH_SLOW_RCVBUF"); v != "" {
		base.SlowRcvBuf, _ = strconv.Atoi(v)
	}
	r.res.Params["client_backoff"] = "100ms..2s"
	local := base
	if cfg.workers > 0 {
		local.Clients = agentSpecs
		per := (len(custSpecs) + cfg.workers - 1) / cfg.workers
		for w := 0; w < cfg.workers; w++ {
			spec := base
			spec.Clients = custSpecs[min(w*per, len(custSpecs)):min((w+1)*per, len(custSpecs))]
			wk, err := StartWorker(r.exe, spec, r.workerLog(w))
			if err != nil {
				ch.g.close()
				return err
			}
			ch.g.workers = append(ch.g.workers, wk)
			r.genPids = append(r.genPids, wk.Pid())
		}
	} else {
		local.Clients = append(custSpecs, agentSpecs...)
	}
	ch.g.local = NewEngine(local)
	start := time.Now()
	r.logf("connecting %d clients (%d generator processes)", len(custSpecs)+len(agentSpecs), 1+len(ch.g.workers))
	errs := make(chan error, len(ch.g.all()))
	for _, x := range ch.g.all() {
		go func(x Gen) { errs <- x.Connect(ctx, 0, 1<<30) }(x)
	}
	var first error
	for range ch.g.all() {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		ch.g.close()
		return first
	}
	r.logf("connected in %s", time.Since(start).Round(time.Millisecond))
	r.res.Extra["connect_s"] = round2(time.Since(start).Seconds())
	// The agents just came online: the router assigns the waiting conversations. Let it finish before the load
	// starts, so the window measures chat, not a burst of assignments.
	if err := r.waitRouted(ctx, 2*time.Minute); err != nil {
		ch.g.close()
		return err
	}
	r.res.Params["customers"], r.res.Params["agents"] = cfg.customers, cfg.agents
	r.res.Params["generator_processes"] = 1 + len(ch.g.workers)
	return nil
}

// waitRouted waits until no conversation waits for an agent (queued or offered), up to within.
func (r *Runner) waitRouted(ctx context.Context, within time.Duration) error {
	db, err := r.db.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	for {
		var waiting int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM conversations WHERE status IN ('queued', 'offered')").Scan(&waiting); err != nil {
			return err
		}
		if waiting == 0 {
			r.res.Extra["routed_s"] = round2(time.Since(start).Seconds())
			return nil
		}
		if time.Since(start) > within {
			return fmt.Errorf("%d conversations still wait for an agent after %s", waiting, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r *Runner) workerLog(w int) io.Writer {
	f, err := os.Create(filepath.Join(r.tmp, fmt.Sprintf("worker-%d.log", w)))
	if err != nil {
		return io.Discard
	}
	return f
}

// window runs phases back to back (their Start is set here), calls during (if any) once the load runs, waits
// for the answers and deliveries, and returns everything the generators saw. The server-cost fields are set.
func (r *Runner) window(ctx context.Context, ch *population, phases []Phase, during func(ctx context.Context, start time.Time) error, drainWait time.Duration) (*EngineResult, error) {
	start := time.Now().Add(300 * time.Millisecond)
	t := start
	var total time.Duration
	for i := range phases {
		phases[i].Start, phases[i].TotalWeight = t, ch.totalWeight
		if phases[i].Rate == 0 {
			phases[i].Rate = ch.rate
		}
		t = t.Add(phases[i].Duration)
		total += phases[i].Duration
	}
	stored, closeDB, err := r.storedSince(ctx, ch.convs)
	if err != nil {
		return nil, err
	}
	defer closeDB()
	u0 := r.usage()
	for _, ph := range phases {
		if err := ch.g.run(ph); err != nil {
			return nil, err
		}
	}
	defer r.profile(total)()
	stop := r.progress(func() string {
		st, _, err := ch.g.status()
		if err != nil {
			return "status: " + err.Error()
		}
		el := time.Since(start).Round(time.Second)
		return fmt.Sprintf("%s/%s sent %d acked %d delivered %d errors %d pending %d conns %d/%d",
			el, total, st.Sent, st.Acked, st.Delivered, st.Errors, st.Pending, st.Connected, st.Clients)
	})
	defer func() { stop() }()
	if during != nil {
		if err := during(ctx, start); err != nil {
			return nil, err
		}
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Until(t)):
	}
	st, heads, err := ch.g.drain(ctx, ch.receivers, stored, drainWait)
	if err != nil {
		return nil, err
	}
	ch.snap = heads
	u1 := r.usage()
	r.serverMetrics()
	stop()
	stop = func() {}
	n, _, _ := stored()
	if want := int64(ch.receivers * float64(n)); st.Pending > 0 || st.Shown < want {
		r.logf("drain: %d sends still pending, %d of %d receipts after %s", st.Pending, st.Shown, want, drainWait)
	}
	res, err := ch.g.finish()
	if err != nil {
		return nil, err
	}
	r.cost(u0, u1, st.Acked)
	r.res.DurationS = total.Seconds()
	return res, nil
}

// verifyChat reads the database and checks the run's acknowledgements and deliveries against it, filling the
// contract's counters.
func (r *Runner) verifyChat(ctx context.Context, ch *population, res *EngineResult) error {
	db, err := r.db.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	stored, err := ReadStored(ctx, db, ch.convs, ch.cfg.from)
	if err != nil {
		return err
	}
	if ch.snap != nil {
		var after uint64
		for id, sc := range stored {
			sc.Snap, sc.SnapHead = true, ch.snap[id]
			after += sc.Head - min(sc.Head, sc.SnapHead)
		}
		// Sends whose senders had given up, committed once the receivers were gone: not required of them.
		r.res.Extra["stored_after_run"] = after
	}
	v := Verify(stored, res.Acks, res.Receivers)
	r.fillVerdict(v, res)
	r.logf("checked %d acknowledgements and %d receiver views against the database in %s: lost %d (acked missing %d, undelivered %d), duplicated %d, reordered %d, db gaps %d",
		len(res.Acks), len(res.Receivers), time.Since(start).Round(time.Millisecond), v.Lost(), v.LostAcked, v.Undelivered, v.Duplicated, v.Reordered, v.DBGaps)
	for _, p := range v.Problems[:min(len(v.Problems), 10)] {
		r.logf("  %s", p)
	}
	return nil
}

func (r *Runner) fillVerdict(v Verdict, res *EngineResult) {
	tot := res.Totals()
	r.res.Sent, r.res.Acked, r.res.Delivered = tot.Sent, tot.Acked, tot.Delivered
	r.res.Lost = int64(v.Lost() + v.DBGaps)
	r.res.Duplicated = int64(v.Duplicated)
	r.res.Reordered = int64(v.Reordered)
	r.res.Errors = tot.Errors
	r.res.Extra["check"] = v
	r.res.Extra["client"] = res.Clients
	r.res.Extra["unacked"] = res.Unacked
	if len(res.ErrCodes) > 0 {
		r.res.Extra["error_codes"] = res.ErrCodes
	}
}

// fillPhase sets the rate and latency fields from one phase.
func (r *Runner) fillPhase(p *PhaseResult, offered float64, d time.Duration) {
	r.res.OfferedRate = round2(offered)
	// Over the time the acknowledgements really took: a server that fell behind acknowledges after the window.
	r.res.AchievedRate = round2(float64(p.Acked) / max(d, p.Span()).Seconds())
	r.res.LatencyMS = p.Hist.Summary()
	r.res.Extra["ack_latency_ms"] = p.AckHist.Summary()
	r.res.Extra["send_late_ms"] = p.LateHist.Summary()
	r.res.Extra["by_second"] = p.Seconds()
}
