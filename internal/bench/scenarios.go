package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/protocol"
	"github.com/parley-chat/parley/web"
)

// scenarios are the runs of PERFORMANCE.md, each with a full and a smoke (-smoke) setting.
var scenarios = map[string]func(ctx context.Context, r *Runner) error{
	"S1":  s1,
	"S2":  s2,
	"S3":  s3,
	"S4":  s4,
	"S5":  s5,
	"S6":  s6,
	"S9":  s9,
	"S10": s10,
	"W1":  w1,
}

// period returns the per-conversation send period that offers rate messages per second with customers
// conversations and sides sending sides.
func period(rate float64, customers, sides int) time.Duration {
	return time.Duration(float64(time.Second) * float64(customers*sides) / rate)
}

// s1 is steady chat: every conversation's customer and agent each write once per period.
func s1(ctx context.Context, r *Runner) error {
	cfg := chatCfg{customers: r.pick(10000, 1000), agents: r.pick(200, 40), period: 10 * time.Second,
		customersSend: true, agentsSend: true}
	if r.o.Smoke {
		cfg.period = 5 * time.Second
	}
	r.override(&cfg, 2)
	return r.steadyChat(ctx, cfg, r.pickD(60*time.Second, 15*time.Second), nil, 30*time.Second)
}

// override applies -conns, -agents and -rate.
func (r *Runner) override(cfg *chatCfg, sides int) {
	if r.o.Conns > 0 {
		cfg.customers = r.o.Conns
	}
	if r.o.Agents > 0 {
		cfg.agents = r.o.Agents
	}
	if r.o.Rate > 0 {
		cfg.period = period(r.o.Rate, cfg.customers, sides)
	}
	if r.o.Workers > 0 {
		cfg.workers = r.o.Workers
	}
}

// steadyChat sets up a population, runs one phase of load with an optional action during it, and checks.
func (r *Runner) steadyChat(ctx context.Context, cfg chatCfg, d time.Duration, during func(ctx context.Context, ch *population, start time.Time) error, drain time.Duration) error {
	ch, err := r.chatAccounts(ctx, cfg)
	if err != nil {
		return err
	}
	if err := r.chatStart(ctx, ch); err != nil {
		return err
	}
	defer ch.g.close()
	r.res.Params["period_s"] = cfg.period.Seconds()
	var dur func(ctx context.Context, start time.Time) error
	if during != nil {
		dur = func(ctx context.Context, start time.Time) error { return during(ctx, ch, start) }
	}
	res, err := r.window(ctx, ch, []Phase{{ID: 1, Duration: d}}, dur, drain)
	if err != nil {
		return err
	}
	r.fillPhase(res.Phases[1], ch.rate, d)
	return r.verifyChat(ctx, ch, res)
}

// s2 steps the offered rate up until p99 passes 50 ms by far; max_rate is the highest step that held it.
func s2(ctx context.Context, r *Runner) error {
	cfg := chatCfg{customers: r.pick(2000, 500), agents: r.pick(50, 10), period: time.Second, customersSend: true}
	// The customers' clients (the senders) in a generator process of their own, the agents' (the receivers) in
	// this one (unless -workers says otherwise): two Go schedulers on the two cores instead of one. At 10,000
	// msgs/s the generator's own lateness fell from p99 8.9-19.8 to 5.6-10.0 ms (docs/benchmarks.md, History
	// 2026-12-07 afternoon).
	cfg.workers = 1
	r.override(&cfg, 1)
	steps := []float64{1000, 2000, 4000, 6000, 8000, 10000, 12000, 15000, 20000, 25000}
	if r.o.Smoke {
		steps = []float64{500, 1000, 2000, 4000}
	}
	if r.o.Rate > 0 {
		steps = []float64{r.o.Rate}
	}
	stepD := r.pickD(15*time.Second, 4*time.Second)
	ch, err := r.chatAccounts(ctx, cfg)
	if err != nil {
		return err
	}
	if err := r.chatStart(ctx, ch); err != nil {
		return err
	}
	defer ch.g.close()
	r.res.Params["steps"], r.res.Params["step_s"] = steps, stepD.Seconds()
	r.res.Params["senders"] = "customers (agents only read: their send rate is capped at 10/s each by the server)"
	type stepOut struct {
		Offered  float64  `json:"offered"`
		Achieved float64  `json:"achieved"`
		Errors   int64    `json:"errors"`
		Latency  Latency  `json:"latency_ms"`
		CPUPct   float64  `json:"server_cpu_pct"`
		GenPct   float64  `json:"generator_cpu_pct"`
		OtherPct *float64 `json:"other_cpu_pct,omitempty"` // the machine's other work (machineShares)
		StealPct *float64 `json:"steal_pct,omitempty"`
		Late     Latency  `json:"send_late_ms"` // how late the generator itself sent (intended -> handed to the client)
	}
	stored, closeDB, err := r.storedSince(ctx, ch.convs)
	if err != nil {
		return err
	}
	defer closeDB()
	var out []stepOut
	var best *PhaseResult
	bestRate := 0.0
	u0 := r.usage()
	// One profile per step (the server at that rate); the -cpuprofile file gets the last step's.
	lastProfile := ""
	stop := r.progress(func() string {
		st, _, _ := ch.g.status()
		return fmt.Sprintf("sent %d acked %d delivered %d errors %d pending %d", st.Sent, st.Acked, st.Delivered, st.Errors, st.Pending)
	})
	for k, rate := range steps {
		ph := Phase{ID: k + 1, Start: time.Now().Add(200 * time.Millisecond), Duration: stepD, Rate: rate, TotalWeight: ch.totalWeight}
		a := r.usage()
		if err := ch.g.run(ph); err != nil {
			stop()
			return err
		}
		time.Sleep(time.Until(ph.Start))
		var waitProfile func() = func() {}
		if r.o.Profile != "" {
			lastProfile = fmt.Sprintf("%s.%.0f", r.o.Profile, rate)
			waitProfile = r.profile(stepD, lastProfile)
		}
		time.Sleep(time.Until(ph.Start.Add(stepD)))
		b := r.usage()
		waitProfile()
		// Let the step's last messages arrive before judging it.
		time.Sleep(2 * time.Second)
		p, err := ch.g.phase(ph.ID)
		if err != nil {
			stop()
			return err
		}
		so := stepOut{Offered: rate, Achieved: round2(float64(p.Acked) / stepD.Seconds()), Errors: p.Errors,
			Latency: p.Hist.Summary(), CPUPct: round2(100 * (b.server.CPU - a.server.CPU).Seconds() / b.at.Sub(a.at).Seconds()),
			GenPct: round2(100 * (b.gen - a.gen).Seconds() / b.at.Sub(a.at).Seconds()), Late: p.LateHist.Summary()}
		machine := ""
		if m, ok := machineShares(a, b); ok {
			so.OtherPct, so.StealPct = &m.Other, &m.Steal
			machine = fmt.Sprintf(", others %.0f%%, steal %.0f%%", m.Other, m.Steal)
		}
		out = append(out, so)
		r.logf("step %.0f msgs/s: achieved %.0f, p50 %.2f ms, p99 %.2f ms, max %.1f ms, errors %d, server cpu %.0f%%, generator cpu %.0f%%%s (sends late p99 %.2f ms)",
			rate, so.Achieved, so.Latency.P50, so.Latency.P99, so.Latency.Max, so.Errors, so.CPUPct, so.GenPct, machine, so.Late.P99)
		held := so.Latency.P99 <= 50 && so.Achieved >= 0.95*rate && p.Errors == 0 && p.Delivered >= p.Acked
		if held {
			best, bestRate = p, rate
		}
		if so.Latency.P99 > 1000 || so.Achieved < 0.8*rate || p.Errors > 0 {
			break
		}
	}
	st, heads, err := ch.g.drain(ctx, ch.receivers, stored, 60*time.Second)
	stop()
	if err != nil {
		return err
	}
	ch.snap = heads
	u1 := r.usage()
	r.serverMetrics()
	res, err := ch.g.finish()
	if err != nil {
		return err
	}
	r.cost(u0, u1, st.Acked)
	if lastProfile != "" {
		if b, err := os.ReadFile(lastProfile); err == nil {
			_ = os.WriteFile(r.o.Profile, b, 0o644)
			r.res.Extra["profile"] = lastProfile
		}
	}
	r.res.Extra["steps"] = out
	r.res.MaxRate = ptr(bestRate)
	r.res.DurationS = float64(len(out)) * stepD.Seconds()
	if best != nil {
		r.fillPhase(best, bestRate, stepD)
	} else if len(out) > 0 {
		p := res.Phases[1]
		r.fillPhase(p, steps[0], stepD)
	}
	return r.verifyChat(ctx, ch, res)
}

// s3 holds idle, subscribed customer connections from several generator processes, reading the server's RSS
// at several connection counts; rss_per_conn_bytes is the fitted slope.
func s3(ctx context.Context, r *Runner) error {
	n := r.pick(19000, 1000)
	if r.o.Conns > 0 {
		n = r.o.Conns
	}
	workers := r.pick(4, 2)
	if r.o.Workers > 0 {
		workers = r.o.Workers
	}
	points := 5
	settle := 5 * time.Second
	if r.o.Smoke {
		settle = time.Second
	}
	idle := r.pickD(30*time.Second, 5*time.Second)
	customers, err := r.setup.Customers(ctx, "c", n, true, func(d int) {
		if d%2000 == 0 {
			r.logf("setup: %d of %d customers", d, n)
		}
	})
	if err != nil {
		return err
	}
	r.setup.Close()
	var g gens
	defer g.close()
	per := (n + workers - 1) / workers
	var sizes []int
	for w := 0; w < workers; w++ {
		spec := EngineSpec{URL: r.srv.URL, MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
		for i := w * per; i < min((w+1)*per, n); i++ {
			c := customers[i]
			spec.Clients = append(spec.Clients, ClientSpec{ID: fmt.Sprintf("c%d", i), Kind: "customer", Principal: c.ID,
				Token: c.Token, Subs: c.Convs, IP: LocalIP(i / 500).String()})
		}
		sizes = append(sizes, len(spec.Clients))
		wk, err := StartWorker(r.exe, spec, r.workerLog(w))
		if err != nil {
			return err
		}
		g.workers = append(g.workers, wk)
		r.genPids = append(r.genPids, wk.Pid())
	}
	time.Sleep(settle)
	// The Go runtime's own split (from /metrics) tells heap from goroutine stacks.
	type point struct {
		Conns int   `json:"connections"`
		RSS   int64 `json:"rss_bytes"`
		Anon  int64 `json:"rss_anon_bytes"`
		File  int64 `json:"rss_file_bytes"`
		FDs   int   `json:"fds"`
		Heap  int64 `json:"go_heap_inuse_bytes"`
		Stack int64 `json:"go_stack_inuse_bytes"`
	}
	gomem := func() (heap, stack int64) {
		h, _ := metric(r.srv.URL, "go_memstats_heap_inuse_bytes").(float64)
		st, _ := metric(r.srv.URL, "go_memstats_stack_inuse_bytes").(float64)
		return int64(h), int64(st)
	}
	u := r.usage()
	h0, s0 := gomem()
	pts := []point{{0, u.server.RSS, u.server.RSSAnon, u.server.RSSFile, u.server.FDs, h0, s0}}
	r.logf("0 connections: server rss %.1f MiB", float64(u.server.RSS)/(1<<20))
	for s := 1; s <= points; s++ {
		errs := make(chan error, workers)
		for w, wk := range g.workers {
			go func(w int, wk *Worker) {
				errs <- wk.Connect(ctx, sizes[w]*(s-1)/points, sizes[w]*s/points)
			}(w, wk)
		}
		for range g.workers {
			if err := <-errs; err != nil {
				return err
			}
		}
		time.Sleep(settle)
		st, _, err := g.status()
		if err != nil {
			return err
		}
		u := r.usage()
		h, stk := gomem()
		pts = append(pts, point{st.Connected, u.server.RSS, u.server.RSSAnon, u.server.RSSFile, u.server.FDs, h, stk})
		r.logf("%d connections: server rss %.1f MiB, %d open files", st.Connected, float64(u.server.RSS)/(1<<20), u.server.FDs)
	}
	r.logf("idle for %s", idle)
	a := r.usage()
	time.Sleep(idle)
	b := r.usage()
	st, _, err := g.status()
	if err != nil {
		return err
	}
	res, err := g.finish()
	if err != nil {
		return err
	}
	// The headline is the least-squares slope through every point, the zero point included: conservative, as
	// it spreads one-time costs of the first connections over all of them. Those are mostly pages of the
	// SQLite file (mapped by the store, up to 256 MiB; clean, reclaimable and bounded by the database's size,
	// yet counted in RSS) that the first connections' auth and resume read in, hence the split into
	// anonymous and file-backed memory, and the marginal slope over the points with connections only.
	col := func(from int, f func(point) int64) (xs, ys []float64) {
		for _, p := range pts[from:] {
			xs, ys = append(xs, float64(p.Conns)), append(ys, float64(f(p)))
		}
		return xs, ys
	}
	slopeOf := func(from int, f func(point) int64) float64 { return math.Round(Slope(col(from, f))) }
	rss := func(p point) int64 { return p.RSS }
	slope := slopeOf(0, rss)
	r.res.Extra["rss_marginal_per_conn_bytes"] = slopeOf(1, rss)
	r.res.Extra["heap_per_conn_bytes"] = slopeOf(0, func(p point) int64 { return p.Heap })
	r.res.Extra["stack_per_conn_bytes"] = slopeOf(0, func(p point) int64 { return p.Stack })
	r.res.Extra["rss_anon_per_conn_bytes"] = slopeOf(0, func(p point) int64 { return p.Anon })
	r.res.Extra["rss_file_per_conn_bytes"] = slopeOf(0, func(p point) int64 { return p.File })
	r.res.RSSPerConnBytes = ptr(slope)
	r.res.Connections = ptr(st.Connected)
	r.res.ServerRSSBytes = b.server.RSS
	r.res.DurationS = idle.Seconds()
	r.res.Params["connections"], r.res.Params["generator_processes"] = n, workers+1
	r.res.Params["kind"] = "customer WebSockets, authenticated, each subscribed to its conversation; default 25 s heartbeat"
	r.res.Extra["points"] = pts
	r.res.Extra["idle_cpu_pct"] = round2(100 * (b.server.CPU - a.server.CPU).Seconds() / b.at.Sub(a.at).Seconds())
	r.res.Extra["server_fds"] = b.server.FDs
	r.res.Extra["client"] = res.Clients
	if st.Connected < n {
		r.res.Errors = int64(n - st.Connected)
		r.logf("only %d of %d connections were up at the end", st.Connected, n)
	}
	r.logf("rss per connection %.0f bytes (slope over %d points; anonymous %.0f, file-backed %.0f; %.0f from the first step on), idle cpu %.2f%% of a core",
		slope, len(pts), r.res.Extra["rss_anon_per_conn_bytes"], r.res.Extra["rss_file_per_conn_bytes"], r.res.Extra["rss_marginal_per_conn_bytes"], r.res.Extra["idle_cpu_pct"])
	return nil
}

// s4 drops every customer connection at once while messages keep flowing, and times the resume.
func s4(ctx context.Context, r *Runner) error {
	cfg := chatCfg{customers: r.pick(10000, 1000), agents: r.pick(200, 40), period: 10 * time.Second,
		customersSend: true, agentsSend: true, workers: 2}
	if r.o.Smoke {
		cfg.period = 5 * time.Second
	}
	r.override(&cfg, 2)
	d := r.pickD(45*time.Second, 15*time.Second)
	during := func(ctx context.Context, ch *population, start time.Time) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(start.Add(d / 3))):
		}
		r.logf("dropping all %d customer connections", cfg.customers)
		mark := time.Now()
		for _, w := range ch.g.workers {
			if err := w.Drop(true); err != nil {
				return err
			}
		}
		deadline := mark.Add(60 * time.Second)
		for {
			resumed, last := 0, 0.0
			for _, w := range ch.g.workers {
				st, err := w.Status()
				if err != nil {
					return err
				}
				resumed += st.Resumed
				last = math.Max(last, st.LastResume)
			}
			if resumed >= cfg.customers || time.Now().After(deadline) {
				r.logf("%d of %d customers resumed, the last %.2f s after the drop", resumed, cfg.customers, last)
				r.res.Extra["resume_s"] = round2(last)
				r.res.Extra["resumed"] = resumed
				r.res.Extra["dropped"] = cfg.customers
				if resumed < cfg.customers {
					r.res.Extra["resume_s"] = nil
				}
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return r.steadyChat(ctx, cfg, d, during, 60*time.Second)
}

// s5 creates conversations at an offered rate and lets the router assign them: the agents (auto-accept, with
// room for their share) follow their own event streams, and the latency runs from the intended creation to
// the assigned agent's conversation.assigned event. After the run no agent may hold more than its capacity.
func s5(ctx context.Context, r *Runner) error {
	rate := float64(r.pick(1000, 200))
	if r.o.Rate > 0 {
		rate = r.o.Rate
	}
	d := r.pickD(20*time.Second, 5*time.Second)
	nAgents := r.pick(20, 5)
	if r.o.Agents > 0 {
		nAgents = r.o.Agents
	}
	n := int(rate * d.Seconds())
	// Room for everyone's share (the router spreads by load), within the largest capacity an agent may have.
	capacity := min((n+nAgents-1)/nAgents+10, 1000)
	agents, err := r.setup.AgentsWith(ctx, "agent", nAgents, capacity, true)
	if err != nil {
		return err
	}
	customers, err := r.setup.Customers(ctx, "v", n, false, nil)
	if err != nil {
		return err
	}
	r.setup.Close()
	spec := EngineSpec{URL: r.srv.URL, MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
	var streams []string
	for j, a := range agents {
		stream := "agent:" + a.ID
		streams = append(streams, stream)
		spec.Clients = append(spec.Clients, ClientSpec{ID: fmt.Sprintf("a%d", j), Kind: "agent", Principal: a.ID,
			Token: a.Token, Streams: []string{stream}, IP: LocalIP(20000 + j).String()})
	}
	index := make(map[string]int, n)
	for k, c := range customers {
		index[c.ID] = k
	}
	interval := time.Duration(float64(time.Second) / rate)
	var start time.Time
	var mu sync.Mutex
	hist, first := NewHist(), NewHist()
	notified := map[int]bool{}
	var lastNotify, lastCreated time.Time
	e := NewEngine(spec)
	e.OnEvent = func(ev protocol.Event, at time.Time) {
		if ev.Kind != "conversation.assigned" {
			return
		}
		var c struct {
			CustomerID string `json:"customer_id"`
		}
		if json.Unmarshal(ev.Payload, &c) != nil {
			return
		}
		k, ok := index[c.CustomerID]
		if !ok {
			return
		}
		lat := at.Sub(start.Add(time.Duration(k) * interval))
		mu.Lock()
		hist.Record(lat)
		if !notified[k] {
			notified[k] = true
			first.Record(lat)
			lastNotify = at
		}
		mu.Unlock()
	}
	defer e.Close()
	if err := e.Connect(ctx, 0, len(spec.Clients)); err != nil {
		return err
	}
	var pool []*http.Client
	for i := 0; i < 8; i++ {
		pool = append(pool, HTTPClient(LocalIP(41000+i), 128))
	}
	var created, errs, inflight atomic.Int64
	httpHist := NewHist()
	codes := map[string]int{}
	start = time.Now().Add(300 * time.Millisecond)
	u0 := r.usage()
	defer r.profile(d)()
	stop := r.progress(func() string {
		mu.Lock()
		nn := len(notified)
		mu.Unlock()
		return fmt.Sprintf("created %d notified %d errors %d in flight %d", created.Load(), nn, errs.Load(), inflight.Load())
	})
	var wg sync.WaitGroup
	for k := 0; k < n; k++ {
		t := start.Add(time.Duration(k) * interval)
		if dd := time.Until(t); dd > 0 {
			time.Sleep(dd)
		}
		wg.Add(1)
		inflight.Add(1)
		go func(k int, t time.Time) {
			defer wg.Done()
			defer inflight.Add(-1)
			api := &client.API{BaseURL: r.srv.URL, Token: customers[k].Token, HTTP: pool[k%len(pool)]}
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			c, err := api.StartConversation(cctx, "")
			cancel()
			lat := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || !c.Created {
				errs.Add(1)
				code := client.Code(err)
				if err == nil {
					code = "not_created"
				} else if code == "" {
					code = err.Error()
				}
				codes[code]++
				return
			}
			created.Add(1)
			httpHist.Record(lat)
			if now := time.Now(); now.After(lastCreated) {
				lastCreated = now
			}
		}(k, t)
	}
	wg.Wait()
	// Wait for every assignment to reach its agent.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		nn := len(notified)
		mu.Unlock()
		if int64(nn) >= created.Load() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	u1 := r.usage()
	stop()
	res, err := e.Finish()
	if err != nil {
		return err
	}
	db, err := r.db.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	stored := map[string]*StoredConv{}
	for _, stream := range streams {
		if stored[stream], err = StreamHead(ctx, db, stream); err != nil {
			return err
		}
	}
	v := Verify(stored, nil, res.Receivers)
	over, err := agentsOverCapacity(ctx, db)
	if err != nil {
		return err
	}
	mu.Lock()
	nNotified := len(notified)
	mu.Unlock()
	r.fillVerdict(v, res)
	r.res.Lost = int64(v.Lost()+v.DBGaps) + max(0, created.Load()-int64(nNotified))
	r.res.Sent, r.res.Acked, r.res.Delivered = int64(n), created.Load(), e.events.Load()
	r.res.Errors = errs.Load() + int64(over) // an agent over capacity fails the run like a lost message
	if len(codes) > 0 {
		r.res.Extra["error_codes"] = codes
	}
	r.cost(u0, u1, created.Load())
	// Rates over the time the work really took: a server that falls behind finishes after the window.
	r.res.OfferedRate = rate
	r.res.AchievedRate = round2(float64(created.Load()) / math.Max(d.Seconds(), lastCreated.Sub(start).Seconds()))
	r.res.ConversationsPerS = ptr(round2(float64(nNotified) / math.Max(d.Seconds(), lastNotify.Sub(start).Seconds())))
	r.res.DurationS = d.Seconds()
	r.res.LatencyMS = hist.Summary()
	r.res.Extra["first_agent_latency_ms"] = first.Summary()
	r.res.Extra["create_http_latency_ms"] = httpHist.Summary()
	r.res.Extra["agents_over_capacity"] = over
	r.res.Extra["routing"] = "auto-accept agents, each following agent:<id>; latency to the assigned agent's conversation.assigned event"
	r.res.Params["agents"], r.res.Params["conversations"], r.res.Params["capacity"] = nAgents, n, capacity
	r.logf("created %d conversations (%d errors), assigned and notified %d; p99 %.2f ms; %d agents over capacity",
		created.Load(), errs.Load(), nNotified, r.res.LatencyMS.P99, over)
	return nil
}

// agentsOverCapacity counts the agents holding more conversations (assigned, or offered) than their capacity,
// by the slot counter or by what the conversations say.
func agentsOverCapacity(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM agents a WHERE a.slots_used > a.capacity OR a.capacity <
		(SELECT count(*) FROM conversations c WHERE (c.agent_id = a.id AND c.status = 'assigned') OR (c.offered_to = a.id AND c.status = 'offered'))`).Scan(&n)
	return n, err
}

// s6 fills the store with history (seeded straight into the database while the server is stopped), then
// runs steady chat while agents page history: "the latest 50" and "the 50 before a seq".
func s6(ctx context.Context, r *Runner) error {
	cfg := chatCfg{customers: r.pick(10000, 1000), agents: r.pick(200, 40), period: 10 * time.Second,
		customersSend: true, agentsSend: true}
	if r.o.Smoke {
		cfg.period = 5 * time.Second
	}
	// The customers' clients run in a generator process of their own (unless -workers says otherwise): the
	// history pages are timed by this process, which then shares its Go scheduler with the agents' 200 clients
	// only, not with 10,000 customers'. In one process the pages' own lateness (intended time -> request
	// started) reached a p99 of 6.8 ms, more than the whole target (docs/benchmarks.md, History 2026-12-07 afternoon).
	cfg.workers = 1
	r.override(&cfg, 2)
	perConv := r.pick(1000, 200)
	hrate := float64(r.pick(500, 100))
	d := r.pickD(60*time.Second, 15*time.Second)
	ch, err := r.chatAccounts(ctx, cfg)
	if err != nil {
		return err
	}
	// Seed with the server stopped, then start it again on the same database.
	if err := r.srv.Stop(); err != nil {
		return err
	}
	var seed []SeedConv
	for i, c := range ch.customers {
		a := ch.agents[ch.owner[i]]
		seed = append(seed, SeedConv{ID: ch.convs[i], CustomerID: c.ID, CustomerName: c.Name, AgentID: a.ID, AgentName: a.Name})
	}
	total := int64(len(seed) * perConv)
	r.logf("seeding %d messages (%d per conversation)", total, perConv)
	seedStart := time.Now()
	lastLog := time.Now()
	var logMu sync.Mutex
	err = Seed(ctx, r.db, seed, perConv, 4, func(done int64) {
		logMu.Lock()
		defer logMu.Unlock()
		if time.Since(lastLog) > 5*time.Second {
			lastLog = time.Now()
			el := time.Since(seedStart).Seconds()
			r.logf("seeded %d of %d messages (%.0f rows/s)", done, total, float64(done)/el)
		}
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	seedS := time.Since(seedStart).Seconds()
	r.logf("seeded %d messages in %.1f s (%.0f rows/s)", total, seedS, float64(total)/seedS)
	r.res.Extra["seed_s"] = round2(seedS)
	r.res.Extra["seed_rows_per_s"] = math.Round(float64(total) / seedS)
	if r.db.Kind == "sqlite" {
		dirty, syncStart := dirtyBytes(), time.Now()
		r.logf("syncing the seeded database to disk (%.0f MB dirty in the page cache)", float64(dirty)/1e6)
		if err := r.db.SyncSeeded(); err != nil {
			return fmt.Errorf("sync the seeded database: %w", err)
		}
		syncS := time.Since(syncStart).Seconds()
		r.logf("synced in %.1f s", syncS)
		r.res.Extra["seed_sync_s"] = round2(syncS)
	}
	if r.db.Kind == "mysql" {
		flushStart, lastLog := time.Now(), time.Time{}
		err := r.db.FlushSeeded(ctx, 10*time.Minute, func(dirty, total int64) {
			if time.Since(lastLog) >= 5*time.Second {
				lastLog = time.Now()
				r.logf("flushing the seeded pages: %d of %d buffer pool pages dirty", dirty, total)
			}
		})
		if err != nil {
			r.logf("could not flush the seeded pages before the run (%v); the run starts beside InnoDB's writeback", err)
		} else {
			r.res.Extra["seed_flush_s"] = round2(time.Since(flushStart).Seconds())
		}
	}
	if err := r.srv.Run(ctx); err != nil {
		return err
	}
	ch.cfg.from = uint64(perConv)
	if err := r.chatStart(ctx, ch); err != nil {
		return err
	}
	defer ch.g.close()
	var agentTokens []string
	for _, a := range ch.agents {
		agentTokens = append(agentTokens, a.Token)
	}
	hist, late := NewHist(), NewHist()
	var herrs atomic.Int64
	var hmu sync.Mutex
	var hn atomic.Int64
	during := func(ctx context.Context, start time.Time) error {
		var pool []*http.Client
		for i := 0; i < 8; i++ {
			pool = append(pool, HTTPClient(LocalIP(42000+i), 64))
		}
		interval := time.Duration(float64(time.Second) / hrate)
		end := start.Add(d)
		var wg sync.WaitGroup
		for k := 0; ; k++ {
			t := start.Add(time.Duration(k) * interval)
			if !t.Before(end) {
				break
			}
			time.Sleep(time.Until(t))
			wg.Add(1)
			go func(k int, t time.Time) {
				defer wg.Done()
				started := time.Now()
				api := &client.API{BaseURL: r.srv.URL, Token: agentTokens[k%len(agentTokens)], HTTP: pool[k%len(pool)]}
				conv := ch.convs[rand.IntN(len(ch.convs))]
				before := uint64(0)
				if k%2 == 1 {
					before = uint64(51 + rand.IntN(max(1, perConv-50)))
				}
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				p, err := api.Before(cctx, conv, before, 50)
				cancel()
				lat := time.Since(t)
				hn.Add(1)
				if err != nil || len(p.Messages) != 50 {
					herrs.Add(1)
					return
				}
				hmu.Lock()
				hist.Record(lat)
				late.Record(started.Sub(t))
				hmu.Unlock()
			}(k, t)
		}
		wg.Wait()
		return nil
	}
	res, err := r.window(ctx, ch, []Phase{{ID: 1, Duration: d}}, during, 30*time.Second)
	if err != nil {
		return err
	}
	r.fillPhase(res.Phases[1], ch.rate, d)
	r.res.Extra["message_latency_ms"] = r.res.LatencyMS
	r.res.LatencyMS = hist.Summary()
	r.res.Extra["history_requests"] = hn.Load()
	r.res.Extra["history_errors"] = herrs.Load()
	r.res.Extra["history_rate"] = hrate
	r.res.Extra["history_late_ms"] = late.Summary()
	r.serverHistory()
	r.res.Params["per_conversation"], r.res.Params["history_rate"] = perConv, hrate
	if err := r.verifyChat(ctx, ch, res); err != nil {
		return err
	}
	r.res.Errors += herrs.Load()
	db, err := r.db.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	stored, err := CountMessages(ctx, db)
	if err != nil {
		return err
	}
	r.res.MessagesStored = ptr(stored)
	plans, ok, err := HistoryPlans(ctx, db, r.db.Kind, ch.convs[0])
	if err != nil {
		return err
	}
	r.res.Extra["history_plans"] = plans
	r.res.Extra["history_plans_keyset"] = ok
	r.logf("history: %d pages, p50 %.2f ms, p99 %.2f ms, errors %d; plans keyset-only: %v", hn.Load(), r.res.LatencyMS.P50, r.res.LatencyMS.P99, herrs.Load(), ok)
	return nil
}

// serverHistory copies the server's own view of the history pages into the result: the p99 of
// parley_http_request_duration_seconds for the history route (handler and middleware, not the transport), and
// the share over 5 ms. With history_late_ms (the generator's lateness) it tells where a page's tail was spent.
func (r *Runner) serverHistory() {
	text, err := metricsText(r.srv.URL)
	if err != nil {
		return
	}
	b := parsePromHistogram(text, "parley_http_request_duration_seconds", `route="GET /api/v1/conversations/{id}/messages"`)
	if q := promQuantile(b, 0.99); !math.IsNaN(q) {
		r.res.Extra["server_history_p99_ms"] = round2(q * 1000)
		if n := promAbove(b, 0.005); !math.IsNaN(n) {
			r.res.Extra["server_history_over_5ms_pct"] = round2(100 * n / b[len(b)-1].count)
		}
	}
}

// serverSubscribes copies the server's view of the window's subscribe frames into the result (the histogram
// parley_subscribe_duration_seconds less before, its state when the window began): how many there were, their
// time together, how many took over 100 ms, and the bucket bound the slowest stayed under ("+Inf" past the
// largest). In S10 the
// slow agents' reconnects subscribe their 120 conversations in one frame each.
func (r *Runner) serverSubscribes(before []promBucket, sumBefore any) {
	text, err := metricsText(r.srv.URL)
	if err != nil {
		return
	}
	if s0, ok := sumBefore.(float64); ok {
		if s1, ok := metricValue(text, "parley_subscribe_duration_seconds_sum").(float64); ok {
			r.res.Extra["server_subscribe_seconds"] = round2(s1 - s0) // the window's frames together
		}
	}
	b := parsePromHistogram(text, "parley_subscribe_duration_seconds")
	if len(b) == 0 || len(before) != len(b) {
		return
	}
	for i := range b {
		b[i].count -= before[i].count
	}
	total := b[len(b)-1].count
	r.res.Extra["server_subscribes"] = total
	if n := promAbove(b, 0.1); !math.IsNaN(n) {
		r.res.Extra["server_subscribes_over_100ms"] = n
	}
	for _, x := range b {
		if x.count == total && total > 0 {
			if math.IsInf(x.le, 1) {
				r.res.Extra["server_subscribe_max_under_s"] = "+Inf"
			} else {
				r.res.Extra["server_subscribe_max_under_s"] = x.le
			}
			break
		}
	}
}

// s9 kills the server with SIGKILL at random moments under load, restarts it on the same data and port, and
// checks that nothing acknowledged was lost and that every client resumed.
func s9(ctx context.Context, r *Runner) error {
	cfg := chatCfg{customers: r.pick(2000, 500), agents: r.pick(40, 20), period: 5 * time.Second,
		customersSend: true, agentsSend: true, ackTimeout: 120 * time.Second}
	r.override(&cfg, 2)
	d := r.pickD(60*time.Second, 20*time.Second)
	kills := r.pick(3, 1)
	type killOut struct {
		AtS                 float64  `json:"at_s"`
		RestartS            float64  `json:"restart_s"`              // kill -> server ready again
		ResumeAfterRestartS *float64 `json:"resume_after_restart_s"` // ready -> every client resumed
		Resumed             int      `json:"resumed"`
	}
	var outs []killOut
	during := func(ctx context.Context, ch *population, start time.Time) error {
		total := cfg.customers + cfg.agents
		for i := 0; i < kills; i++ {
			// Spread the kills over the middle of the window, each at a random moment of its slot.
			slot := time.Duration(float64(d) * 0.7 / float64(kills))
			at := start.Add(d/10 + time.Duration(i)*slot + time.Duration(rand.Float64()*float64(slot)*0.5))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(at)):
			}
			if err := r.srv.Kill(); err != nil {
				return err
			}
			killed := time.Now()
			for _, x := range ch.g.all() {
				x.Drop(false)
			}
			r.logf("kill -9 #%d at %.1f s", i+1, killed.Sub(start).Seconds())
			if err := r.srv.Run(ctx); err != nil {
				return fmt.Errorf("restart after kill: %w", err)
			}
			ready := time.Now()
			ko := killOut{AtS: round2(killed.Sub(start).Seconds()), RestartS: round2(ready.Sub(killed).Seconds())}
			deadline := ready.Add(60 * time.Second)
			for {
				st, _, err := ch.g.status()
				if err != nil {
					return err
				}
				if st.Resumed >= total {
					ko.Resumed = st.Resumed
					ko.ResumeAfterRestartS = ptr(round2(math.Max(0, st.LastResume-ready.Sub(killed).Seconds())))
					break
				}
				if time.Now().After(deadline) {
					ko.Resumed = st.Resumed
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			r.logf("restarted in %.2f s; %d of %d clients resumed (%v s after the restart)", ko.RestartS, ko.Resumed, total, deref(ko.ResumeAfterRestartS))
			outs = append(outs, ko)
		}
		return nil
	}
	if err := r.steadyChat(ctx, cfg, d, during, 120*time.Second); err != nil {
		return err
	}
	r.res.Kills = ptr(len(outs))
	r.res.Extra["kill_details"] = outs
	worst := 0.0
	for _, o := range outs {
		if o.ResumeAfterRestartS == nil {
			worst = math.Inf(1)
			break
		}
		worst = math.Max(worst, *o.ResumeAfterRestartS)
	}
	if !math.IsInf(worst, 1) {
		r.res.Extra["resume_s"] = worst
	} else {
		r.res.Extra["resume_s"] = nil
		r.res.Errors++ // a client that never resumed is a failure of the delivery contract's liveness
	}
	// The server process changed at each kill: CPU time per message is not comparable.
	r.res.ServerCPUUSPerMsg = nil
	delete(r.res.Extra, "server_cpu_pct")
	return nil
}

func deref(p *float64) any {
	if p == nil {
		return "never"
	}
	return *p
}

// s10: 5 % of the agents stop reading for a while, again and again; the others' latency is compared with a
// baseline phase of the same run, the slow ones must be disconnected and resume without loss.
func s10(ctx context.Context, r *Runner) error {
	// 4,000-byte messages, and slow agents that watch 120 conversations: what a stalled reader leaves unread
	// must outgrow the kernel's socket buffers (up to 4 MiB on the server's side, plus the client's) within a
	// stall, or the server never has to act.
	cfg := chatCfg{customers: r.pick(2000, 1000), agents: r.pick(40, 10), period: time.Second, customersSend: true, bodyBytes: 4000}
	r.override(&cfg, 1)
	cfg.slowAgents = max(1, cfg.agents*5/100)
	d := r.pickD(60*time.Second, 30*time.Second)
	stallFor, stallEvery := 20*time.Second, 25*time.Second
	if r.o.Smoke {
		stallFor, stallEvery = 12*time.Second, 14*time.Second
	}
	if r.o.NoStall {
		stallFor = 0 // the control: the same run, nobody stops reading
	}
	ch, err := r.chatAccounts(ctx, cfg)
	if err != nil {
		return err
	}
	if err := r.chatStart(ctx, ch); err != nil {
		return err
	}
	defer ch.g.close()
	var rssMax atomic.Int64
	var subsBefore []promBucket // the subscribe frames of the connect and routing, left out of the window's
	var subsSumBefore any
	var bySecond []serverSecond
	var sampling atomic.Bool
	sampled := make(chan struct{})
	during := func(ctx context.Context, start time.Time) error {
		if text, err := metricsText(r.srv.URL); err == nil {
			subsBefore = parsePromHistogram(text, "parley_subscribe_duration_seconds")
			subsSumBefore = metricValue(text, "parley_subscribe_duration_seconds_sum")
		}
		sampling.Store(true)
		go func() {
			defer close(sampled)
			bySecond = r.serverSeconds(ctx, start, d)
		}()
		go func() {
			for time.Now().Before(start.Add(d)) {
				u, _ := ProcUsage(r.srv.Pid())
				if u.RSS > rssMax.Load() {
					rssMax.Store(u.RSS)
				}
				time.Sleep(500 * time.Millisecond)
			}
		}()
		return nil
	}
	phases := []Phase{{ID: 1, Duration: d / 2}, {ID: 2, Duration: d / 2, StallFor: stallFor, StallEvery: stallEvery}}
	res, err := r.window(ctx, ch, phases, during, 60*time.Second)
	if err != nil {
		return err
	}
	base, stalled := res.Phases[1], res.Phases[2]
	if base == nil || stalled == nil {
		return fmt.Errorf("a phase recorded nothing")
	}
	if sampling.Load() {
		<-sampled
		r.res.Extra["server_by_second"] = bySecond
	}
	r.fillPhase(stalled, ch.rate, d/2)
	r.res.Extra["baseline_latency_ms"] = base.Hist.Summary()
	r.res.Extra["slow_agents_latency_ms"] = stalled.SlowHist.Summary()
	if b := base.Hist.Summary().P99; b > 0 {
		r.res.Extra["p99_ratio"] = round2(stalled.Hist.Summary().P99 / b)
	}
	r.res.Extra["server_rss_max_bytes"] = rssMax.Load()
	r.res.Extra["slow_consumer_disconnects"] = metric(r.srv.URL, "parley_slow_consumer_disconnects_total")
	r.serverSubscribes(subsBefore, subsSumBefore)
	r.res.Params["slow_agents"], r.res.Params["stall_s"], r.res.Params["stall_every_s"] = cfg.slowAgents, stallFor.Seconds(), stallEvery.Seconds()
	r.res.Params["period_s"] = cfg.period.Seconds()
	r.res.Params["control"] = r.o.NoStall
	if err := r.verifyChat(ctx, ch, res); err != nil {
		return err
	}
	r.logf("others' p99 %.2f ms vs baseline %.2f ms; slow agents reconnected %d times; server disconnected %v slow consumers",
		stalled.Hist.Summary().P99, base.Hist.Summary().P99, res.Clients.SlowReconnects, r.res.Extra["slow_consumer_disconnects"])
	return nil
}

// serverSecond is one second of the server's own view of a load window, from its /metrics: the
// acknowledgements it sent, the p99 of their latency and of the group commits' duration (estimated inside the
// histograms' buckets, as fine as they are), and the subscribe frames it answered.
type serverSecond struct {
	S          int     `json:"s"` // seconds since the window began
	Acks       float64 `json:"acks"`
	AckP99     float64 `json:"ack_p99_ms"`    // 0 without acknowledgements
	CommitP99  float64 `json:"commit_p99_ms"` // 0 without commits
	Subscribes float64 `json:"subscribes"`
}

// serverSeconds reads the server's /metrics once a second from start for d (or until ctx ends) and returns each
// second's view: where in a window the server's own latency moved, e.g. S10's resume.
func (r *Runner) serverSeconds(ctx context.Context, start time.Time, d time.Duration) []serverSecond {
	type sample struct{ ack, commit, subs []promBucket }
	read := func() (sample, bool) {
		text, err := metricsText(r.srv.URL)
		if err != nil {
			return sample{}, false
		}
		return sample{parsePromHistogram(text, "parley_ack_latency_seconds"), parsePromHistogram(text, "parley_commit_duration_seconds"),
			parsePromHistogram(text, "parley_subscribe_duration_seconds")}, true
	}
	var out []serverSecond
	prev, ok := read()
	for i := 1; ok && time.Duration(i)*time.Second <= d; i++ {
		select {
		case <-ctx.Done():
			return out
		case <-time.After(time.Until(start.Add(time.Duration(i) * time.Second))):
		}
		cur, ok2 := read()
		if !ok2 {
			break
		}
		sec := serverSecond{S: i - 1}
		if a := promDelta(cur.ack, prev.ack); a != nil {
			sec.Acks = a[len(a)-1].count
			if q := promQuantile(a, 0.99); !math.IsNaN(q) {
				sec.AckP99 = round2(q * 1000)
			}
		}
		if c := promDelta(cur.commit, prev.commit); c != nil {
			if q := promQuantile(c, 0.99); !math.IsNaN(q) {
				sec.CommitP99 = round2(q * 1000)
			}
		}
		if sb := promDelta(cur.subs, prev.subs); sb != nil {
			sec.Subscribes = sb[len(sb)-1].count
		}
		out = append(out, sec)
		prev = cur
	}
	return out
}

// metric reads one counter from the server's /metrics (summing its label sets); nil when absent.
func metric(base, name string) any {
	text, err := metricsText(base)
	if err != nil {
		return nil
	}
	return metricValue(text, name)
}

// metricValue is one counter of a /metrics page (its label sets summed); nil when absent.
func metricValue(text, name string) any {
	var sum float64
	found := false
	for _, line := range strings.Split(text, "\n") {
		if debug && (strings.Contains(line, "slow") || strings.Contains(line, "resumes") || strings.Contains(line, "panic")) && !strings.HasPrefix(line, "#") {
			fmt.Fprintln(os.Stderr, "debug metric:", line)
		}
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != ' ' && line[len(name)] != '{') {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
			found = true
		}
	}
	if !found {
		return nil
	}
	return sum
}

// w1 reports the widget loader's gzip size: what every page view of a host site pays before the panel opens.
func w1(_ context.Context, r *Runner) error {
	n := web.LoaderGzipSize()
	r.res.LoaderGzipBytes = ptr(n)
	r.res.Store = "none"
	r.res.Extra["target_bytes"] = 10240
	r.logf("widget.js: %d bytes gzip (target ≤ 10,240)", n)
	return nil
}
