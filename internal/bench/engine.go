package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/protocol"
)

// ClientSpec is one virtual client: an agent console or a customer's widget, on its own WebSocket.
type ClientSpec struct {
	ID        string   `json:"id"`        // unique in the run; prefixes its client message ids
	Kind      string   `json:"kind"`      // agent or customer
	Principal string   `json:"principal"` // its principal id: messages it sent come back as echoes
	Token     string   `json:"token"`
	Subs      []string `json:"subs,omitempty"`    // conversations it follows
	Streams   []string `json:"streams,omitempty"` // event streams it follows
	From      uint64   `json:"from,omitempty"`    // it follows its conversations from after this seq
	Send      []string `json:"send,omitempty"`    // conversations it writes into, in turn
	Weight    float64  `json:"weight,omitempty"`  // its share of a phase's offered rate; 0 = it does not send
	IP        string   `json:"ip"`                // source address of its connection
	Slow      bool     `json:"slow,omitempty"`    // stops reading during a phase's stalls (S10)
}

// EngineSpec is what a generator (this process or a worker) runs.
type EngineSpec struct {
	URL        string         `json:"url"`
	Clients    []ClientSpec   `json:"clients"`
	AckTimeout time.Duration  `json:"ack_timeout"` // a send not acknowledged by then counts as an error
	MinBackoff time.Duration  `json:"min_backoff"`
	MaxBackoff time.Duration  `json:"max_backoff"`
	BodyBytes  int            `json:"body_bytes"`
	SlowRcvBuf int            `json:"slow_rcvbuf"` // receive buffer of slow clients' sockets
	MaxSends   int64          `json:"max_sends"`   // the generator stops sending after this many (a hard cap)
	Created    map[string]int `json:"-"`           // S5: customer id -> index of the creation (in-process only)
}

// Phase is a load window: from Start for Duration, the senders of all generators together offer Rate messages
// per second, each its Weight's share of TotalWeight.
type Phase struct {
	ID          int           `json:"id"`
	Start       time.Time     `json:"start"`
	Duration    time.Duration `json:"duration"`
	Rate        float64       `json:"rate"`
	TotalWeight float64       `json:"total_weight"`
	StallFor    time.Duration `json:"stall_for,omitempty"`   // slow clients stop reading this long...
	StallEvery  time.Duration `json:"stall_every,omitempty"` // ...at this interval
}

// PhaseResult counts one phase's sends (by their intended time) and the deliveries of its messages.
type PhaseResult struct {
	Sent      int64 `json:"sent"`
	Acked     int64 `json:"acked"`
	Errors    int64 `json:"errors"`
	Delivered int64 `json:"delivered"` // to the conversation's other side
	Hist      *Hist `json:"hist"`      // intended send time -> frame at the other side
	AckHist   *Hist `json:"ack_hist"`  // intended send time -> acknowledgement at the sender
	SlowHist  *Hist `json:"slow_hist"` // deliveries to slow clients (S10)
	// LateHist is how late the generator itself was: intended send time -> the send handed to the client.
	// A tail here is the generator's (its process starved of CPU), not the server's.
	LateHist *Hist `json:"late_hist"`
	// BySecond splits Hist by the second (unix) of the intended send time, so that a tail can be placed in
	// time: a periodic stall shows as a second with a high p99 every so often.
	BySecond map[int64]*Hist `json:"by_second"`
	FirstDue int64           `json:"first_due"` // unix nanos of the earliest intended send
	LastAck  int64           `json:"last_ack"`  // unix nanos of the latest acknowledgement
}

// Span is the time from the first intended send to the last acknowledgement: longer than the phase when the
// server fell behind.
func (p *PhaseResult) Span() time.Duration {
	if p.FirstDue == 0 || p.LastAck < p.FirstDue {
		return 0
	}
	return time.Duration(p.LastAck - p.FirstDue)
}

func newPhaseResult() *PhaseResult {
	return &PhaseResult{Hist: NewHist(), AckHist: NewHist(), SlowHist: NewHist(), LateHist: NewHist(), BySecond: map[int64]*Hist{}}
}

// recordDelivery counts one delivery to a client that is not slow, intended at unix nanos intended.
func (p *PhaseResult) recordDelivery(intended, us int64) {
	p.Hist.RecordUS(us)
	sec := intended / int64(time.Second)
	h := p.BySecond[sec]
	if h == nil {
		h = NewHist()
		p.BySecond[sec] = h
	}
	h.RecordUS(us)
}

// SecondFigures are one second's deliveries: the second (from the phase's first), how many, p99 and max (ms).
type SecondFigures struct {
	S   int     `json:"s"`
	N   uint64  `json:"n"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Seconds returns the phase's deliveries second by second, from its first intended second to its last; a
// second without deliveries has n 0.
func (p *PhaseResult) Seconds() []SecondFigures {
	if len(p.BySecond) == 0 {
		return nil
	}
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for s := range p.BySecond {
		first, last = min(first, s), max(last, s)
	}
	out := make([]SecondFigures, 0, last-first+1)
	for s := first; s <= last; s++ {
		f := SecondFigures{S: int(s - first)}
		if h := p.BySecond[s]; h != nil {
			sum := h.Summary()
			f.N, f.P99, f.Max = h.Count(), sum.P99, sum.Max
		}
		out = append(out, f)
	}
	return out
}

func (p *PhaseResult) merge(o *PhaseResult) {
	p.Sent += o.Sent
	p.Acked += o.Acked
	p.Errors += o.Errors
	p.Delivered += o.Delivered
	p.Hist.Merge(o.Hist)
	p.AckHist.Merge(o.AckHist)
	p.SlowHist.Merge(o.SlowHist)
	p.LateHist.Merge(o.LateHist)
	if p.BySecond == nil {
		p.BySecond = map[int64]*Hist{}
	}
	for s, h := range o.BySecond {
		if p.BySecond[s] == nil {
			p.BySecond[s] = NewHist()
		}
		p.BySecond[s].Merge(h)
	}
	if o.FirstDue != 0 && (p.FirstDue == 0 || o.FirstDue < p.FirstDue) {
		p.FirstDue = o.FirstDue
	}
	p.LastAck = max(p.LastAck, o.LastAck)
}

// Status is a generator's state at a moment.
type Status struct {
	Clients    int     `json:"clients"`
	Connected  int     `json:"connected"`
	Resumed    int     `json:"resumed"`     // clients whose subscriptions all resumed after the last Drop mark
	LastResume float64 `json:"last_resume"` // seconds from the mark to the latest such resume
	Sent       int64   `json:"sent"`
	Acked      int64   `json:"acked"`
	Errors     int64   `json:"errors"`
	Pending    int64   `json:"pending"`
	Delivered  int64   `json:"delivered"`
	Echoed     int64   `json:"echoed"`
	Shown      int64   `json:"shown"` // every message any client showed (system messages too)
	Events     int64   `json:"events"`
	Stalled    int     `json:"stalled"` // slow clients not reading right now (S10)
}

// ClientTotals adds up the Go client's own counters.
type ClientTotals struct {
	Reconnects      int `json:"reconnects"`
	SlowReconnects  int `json:"slow_reconnects"`
	DuplicateFrames int `json:"duplicate_frames"`
	Gaps            int `json:"gaps"`
	Resends         int `json:"resends"`
}

// EngineResult is everything a generator reports at the end.
type EngineResult struct {
	Phases    map[int]*PhaseResult `json:"phases"`
	Acks      []Ack                `json:"acks"`
	Receivers []ReceiverState      `json:"receivers"`
	ErrCodes  map[string]int       `json:"err_codes"`
	Clients   ClientTotals         `json:"clients"`
	Unacked   int64                `json:"unacked"`
}

// Gen is a generator the coordinator drives: the in-process Engine or a worker process.
type Gen interface {
	Connect(ctx context.Context, from, to int) error
	Run(ph Phase) error
	Drop(disconnect bool) error
	Status() (Status, error)
	Phase(id int) (*PhaseResult, error)
	Finish() (*EngineResult, error)
	Close()
}

type vclient struct {
	spec ClientSpec
	c    *client.Client
	rr   atomic.Int64

	mu     sync.Mutex
	tracks map[string]*SeqTrack

	connected  atomic.Bool
	remaining  atomic.Int64
	resumedAt  atomic.Int64 // unix nanos of the last complete resume
	stallUntil atomic.Int64
}

func (v *vclient) show(key string, seq uint64) {
	v.mu.Lock()
	t := v.tracks[key]
	if t == nil {
		t = NewSeqTrack(0)
		v.tracks[key] = t
	}
	t.Show(seq)
	v.mu.Unlock()
}

const statShards = 32

// Bounds of a run, whatever the flags say: every run stops by itself.
const (
	MaxSends       = 20_000_000       // messages one generator sends
	MaxDuration    = 30 * time.Minute // one load window
	MaxConnections = 60_000           // clients of one run
)

var debug = os.Getenv("PARLEY_BENCH_DEBUG") != ""

type statShard struct {
	mu     sync.Mutex
	phases map[int]*PhaseResult
	acks   []Ack
	codes  map[string]int
}

// Engine runs virtual clients in this process.
type Engine struct {
	spec EngineSpec
	vcs  []*vclient
	pad  string

	ctx    context.Context
	cancel context.CancelFunc
	sends  sync.WaitGroup
	loops  sync.WaitGroup

	shards [statShards]statShard

	sent, acked, errs, pending, delivered, echoed, events, unacked, shown atomic.Int64
	dropAt                                                                atomic.Int64

	// OnEvent, when set, is told of every stream event a client shows (S5 measures notifications with it).
	OnEvent func(ev protocol.Event, at time.Time)
}

// NewEngine prepares the clients of spec; Connect dials them.
func NewEngine(spec EngineSpec) *Engine {
	if spec.AckTimeout <= 0 {
		spec.AckTimeout = 30 * time.Second
	}
	if spec.BodyBytes <= 0 {
		spec.BodyBytes = 100
	}
	if spec.MaxSends <= 0 {
		spec.MaxSends = MaxSends
	}
	e := &Engine{spec: spec}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for i := range e.shards {
		e.shards[i].phases = map[int]*PhaseResult{}
		e.shards[i].codes = map[string]int{}
	}
	for _, cs := range spec.Clients {
		v := &vclient{spec: cs, tracks: map[string]*SeqTrack{}}
		for _, k := range cs.Subs {
			v.tracks[k] = NewSeqTrack(cs.From)
		}
		for _, k := range cs.Streams {
			v.tracks[k] = NewSeqTrack(0)
		}
		e.vcs = append(e.vcs, v)
	}
	e.pad = strings.Repeat("x", spec.BodyBytes)
	if spec.SlowRcvBuf == 0 {
		e.spec.SlowRcvBuf = -1
	}
	return e
}

func (e *Engine) shard(i int) *statShard { return &e.shards[i%statShards] }

func (s *statShard) phase(id int) *PhaseResult {
	p := s.phases[id]
	if p == nil {
		p = newPhaseResult()
		s.phases[id] = p
	}
	return p
}

// Connect dials clients [from, to), subscribes each and waits until every subscription has resumed.
func (e *Engine) Connect(ctx context.Context, from, to int) error {
	to = min(to, len(e.vcs))
	err := parallel(ctx, to-from, 32, func(ctx context.Context, i int) error {
		return e.dial(ctx, from+i)
	})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		waiting := 0
		for _, v := range e.vcs[from:to] {
			if v.resumedAt.Load() == 0 {
				waiting++
			}
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d clients did not resume their subscriptions in 60 s", waiting, to-from)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (e *Engine) dial(ctx context.Context, i int) error {
	v := e.vcs[i]
	if v.c != nil {
		return nil
	}
	ip, err := netip.ParseAddr(v.spec.IP)
	if err != nil {
		return fmt.Errorf("client %s: bad source address %q", v.spec.ID, v.spec.IP)
	}
	rcv := 0
	if v.spec.Slow && e.spec.SlowRcvBuf > 0 {
		rcv = e.spec.SlowRcvBuf
	}
	subs := int64(len(v.spec.Subs) + len(v.spec.Streams))
	o := client.Options{BaseURL: e.spec.URL, Token: v.spec.Token, Dialer: WSDialer(ip, rcv),
		MinBackoff: e.spec.MinBackoff, MaxBackoff: e.spec.MaxBackoff,
		OnMessage: func(m protocol.Message) { e.onMessage(i, v, m) },
		OnEvent: func(ev protocol.Event) {
			v.show(ev.Stream, ev.Seq)
			e.events.Add(1)
			if e.OnEvent != nil {
				e.OnEvent(ev, time.Now())
			}
		},
		OnFrame: func(f protocol.ServerFrame) {
			if v.spec.Slow && debug && f.Type != protocol.TypeResumed {
				fmt.Fprintf(os.Stderr, "debug %s: slow client %s frame %+v\n", time.Now().Format("15:04:05.000"), v.spec.ID, f)
			}
			if f.Type == protocol.TypeResumed && v.remaining.Add(-1) == 0 {
				v.resumedAt.Store(time.Now().UnixNano())
			}
		},
		OnState: func(up bool) {
			if v.spec.Slow && debug {
				fmt.Fprintf(os.Stderr, "debug %s: slow client %s connected=%v\n", time.Now().Format("15:04:05.000"), v.spec.ID, up)
			}
			v.connected.Store(up)
			if up {
				v.remaining.Store(subs)
			}
		},
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.Dial(dctx, o)
	if err != nil {
		return fmt.Errorf("client %s: dial: %w", v.spec.ID, err)
	}
	v.c = c
	for _, conv := range v.spec.Subs {
		if err := c.Subscribe(conv, v.spec.From); err != nil {
			return fmt.Errorf("client %s: subscribe: %w", v.spec.ID, err)
		}
	}
	for _, s := range v.spec.Streams {
		if err := c.SubscribeStream(s, 0); err != nil {
			return fmt.Errorf("client %s: subscribe: %w", v.spec.ID, err)
		}
	}
	return nil
}

// body carries the phase and the intended send time, so any receiver, in any process, can measure.
func (e *Engine) body(phase int, intended time.Time) string {
	b := "bench " + strconv.Itoa(phase) + " " + strconv.FormatInt(intended.UnixNano(), 10) + " "
	return b + e.pad[:max(1, min(len(e.pad), e.spec.BodyBytes-len(b)))]
}

func parseBody(b string) (phase int, intended int64, ok bool) {
	rest, ok := strings.CutPrefix(b, "bench ")
	if !ok {
		return 0, 0, false
	}
	f := strings.SplitN(rest, " ", 3)
	if len(f) < 2 {
		return 0, 0, false
	}
	p, err1 := strconv.Atoi(f[0])
	t, err2 := strconv.ParseInt(f[1], 10, 64)
	return p, t, err1 == nil && err2 == nil
}

func (e *Engine) onMessage(i int, v *vclient, m protocol.Message) {
	if v.spec.Slow && debug && m.Seq%200 == 0 {
		fmt.Fprintf(os.Stderr, "debug %s: slow client %s shows %s/%d\n", time.Now().Format("15:04:05.000"), v.spec.ID, m.ConversationID[:8], m.Seq)
	}
	if v.spec.Slow {
		// A slow reader: this goroutine is the client's only reader, so the socket is not read meanwhile.
		if until := v.stallUntil.Load(); until > 0 {
			if d := time.Until(time.Unix(0, until)); d > 0 {
				time.Sleep(d)
			}
		}
	}
	now := time.Now()
	v.show(m.ConversationID, m.Seq)
	e.shown.Add(1)
	if m.SenderID == v.spec.Principal {
		e.echoed.Add(1)
		return
	}
	phase, intended, ok := parseBody(m.Body)
	if !ok {
		return
	}
	e.delivered.Add(1)
	s := e.shard(i)
	s.mu.Lock()
	p := s.phase(phase)
	p.Delivered++
	if v.spec.Slow {
		p.SlowHist.RecordUS((now.UnixNano() - intended) / 1000)
	} else {
		p.recordDelivery(intended, (now.UnixNano()-intended)/1000)
	}
	s.mu.Unlock()
}

// Run starts a phase's senders and returns at once.
func (e *Engine) Run(ph Phase) error {
	for i, v := range e.vcs {
		if v.spec.Weight <= 0 || len(v.spec.Send) == 0 || ph.Rate <= 0 {
			continue
		}
		rate := ph.Rate * v.spec.Weight / ph.TotalWeight
		e.loops.Add(1)
		go e.sender(i, v, ph, time.Duration(float64(time.Second)/rate))
	}
	if ph.StallFor > 0 && ph.StallEvery > 0 {
		e.loops.Add(1)
		go e.staller(ph)
	}
	return nil
}

// sender sends on a fixed schedule (open loop): a late send is still timed from when it was due.
func (e *Engine) sender(i int, v *vclient, ph Phase, interval time.Duration) {
	defer e.loops.Done()
	end := ph.Start.Add(ph.Duration)
	t := ph.Start.Add(time.Duration(rand.Int64N(int64(interval))))
	for t.Before(end) {
		if d := time.Until(t); d > 0 {
			select {
			case <-e.ctx.Done():
				return
			case <-time.After(d):
			}
		} else if e.ctx.Err() != nil {
			return
		}
		if e.sent.Load() >= e.spec.MaxSends {
			return
		}
		conv := v.spec.Send[int(v.rr.Add(1)-1)%len(v.spec.Send)]
		e.send(i, v, conv, ph.ID, t)
		t = t.Add(interval)
	}
}

func (e *Engine) staller(ph Phase) {
	defer e.loops.Done()
	end := ph.Start.Add(ph.Duration)
	for t := ph.Start.Add(time.Second); t.Before(end); t = t.Add(ph.StallEvery) {
		select {
		case <-e.ctx.Done():
			return
		case <-time.After(time.Until(t)):
		}
		// A stall ends with the phase at the latest: after the window every receiver reads, so the check can
		// hold every one of them to every message (a stall running past the end once left the slow agents
		// four messages short in each conversation when the drain ended).
		until := min(time.Now().Add(ph.StallFor).UnixNano(), end.UnixNano())
		for _, v := range e.vcs {
			if v.spec.Slow {
				v.stallUntil.Store(until)
			}
		}
	}
}

func (e *Engine) send(i int, v *vclient, conv string, phase int, intended time.Time) {
	cid := client.NewID() // time-ordered, as Parley's own clients send them
	body := e.body(phase, intended)
	e.sent.Add(1)
	e.pending.Add(1)
	s := e.shard(i)
	s.mu.Lock()
	ps := s.phase(phase)
	ps.Sent++
	if due := intended.UnixNano(); ps.FirstDue == 0 || due < ps.FirstDue {
		ps.FirstDue = due
	}
	s.mu.Unlock()
	e.sends.Add(1)
	go func() {
		defer e.sends.Done()
		defer e.pending.Add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), e.spec.AckTimeout)
		started := time.Now()
		ack, err := v.c.SendID(ctx, conv, cid, body, "")
		cancel()
		now := time.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.phase(phase)
		p.LateHist.Record(started.Sub(intended))
		if err != nil {
			e.errs.Add(1)
			p.Errors++
			code := client.Code(err)
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				code = "no_ack_in_time"
				e.unacked.Add(1)
			case code == "":
				code = err.Error()
			}
			s.codes[code]++
			return
		}
		e.acked.Add(1)
		p.Acked++
		p.LastAck = max(p.LastAck, now.UnixNano())
		p.AckHist.Record(now.Sub(intended))
		s.acks = append(s.acks, Ack{Conv: conv, Seq: ack.Seq, CID: cid})
	}()
}

// Drop marks the moment resumes are measured from; with disconnect it also drops every connection, as a
// network fault would (the clients reconnect and resume by themselves).
func (e *Engine) Drop(disconnect bool) error {
	e.dropAt.Store(time.Now().UnixNano())
	if disconnect {
		for _, v := range e.vcs {
			if v.c != nil {
				v.c.Disconnect()
			}
		}
	}
	return nil
}

// Status reports the generator's counters.
func (e *Engine) Status() (Status, error) {
	st := Status{Clients: len(e.vcs), Sent: e.sent.Load(), Acked: e.acked.Load(), Errors: e.errs.Load(),
		Pending: e.pending.Load(), Delivered: e.delivered.Load(), Echoed: e.echoed.Load(), Events: e.events.Load(), Shown: e.shown.Load()}
	mark := e.dropAt.Load()
	var last int64
	now := time.Now().UnixNano()
	for _, v := range e.vcs {
		if v.spec.Slow && v.stallUntil.Load() > now {
			st.Stalled++
		}
		if v.connected.Load() {
			st.Connected++
		}
		if r := v.resumedAt.Load(); r > mark && v.connected.Load() {
			st.Resumed++
			last = max(last, r-mark)
		}
	}
	st.LastResume = float64(last) / 1e9
	return st, nil
}

// Phase returns a copy of one phase's figures so far.
func (e *Engine) Phase(id int) (*PhaseResult, error) {
	out := newPhaseResult()
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.Lock()
		if p := s.phases[id]; p != nil {
			out.merge(p)
		}
		s.mu.Unlock()
	}
	return out, nil
}

// Finish stops the senders, waits for the sends under way, closes every client and reports.
func (e *Engine) Finish() (*EngineResult, error) {
	e.cancel()
	e.loops.Wait()
	e.sends.Wait()
	for _, v := range e.vcs {
		if v.c != nil {
			v.c.Close()
		}
	}
	r := &EngineResult{Phases: map[int]*PhaseResult{}, ErrCodes: map[string]int{}, Unacked: e.unacked.Load()}
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.Lock()
		for id, p := range s.phases {
			if r.Phases[id] == nil {
				r.Phases[id] = newPhaseResult()
			}
			r.Phases[id].merge(p)
		}
		r.Acks = append(r.Acks, s.acks...)
		for k, n := range s.codes {
			r.ErrCodes[k] += n
		}
		s.mu.Unlock()
	}
	for _, v := range e.vcs {
		v.mu.Lock()
		for key, t := range v.tracks {
			r.Receivers = append(r.Receivers, ReceiverState{Receiver: v.spec.ID, Conv: key, Track: *t})
		}
		v.mu.Unlock()
		if v.c != nil {
			cs := v.c.Stats()
			r.Clients.Reconnects += cs.Reconnects
			if v.spec.Slow {
				r.Clients.SlowReconnects += cs.Reconnects
			}
			r.Clients.DuplicateFrames += cs.DuplicateFrames
			r.Clients.Gaps += cs.Gaps
			r.Clients.Resends += cs.Resends
		}
	}
	return r, nil
}

// Close stops everything without reporting.
func (e *Engine) Close() {
	e.cancel()
	for _, v := range e.vcs {
		if v.c != nil {
			v.c.Close()
		}
	}
}

// Merge adds o to r.
func (r *EngineResult) Merge(o *EngineResult) {
	if r.Phases == nil {
		r.Phases = map[int]*PhaseResult{}
	}
	if r.ErrCodes == nil {
		r.ErrCodes = map[string]int{}
	}
	for id, p := range o.Phases {
		if r.Phases[id] == nil {
			r.Phases[id] = newPhaseResult()
		}
		r.Phases[id].merge(p)
	}
	r.Acks = append(r.Acks, o.Acks...)
	r.Receivers = append(r.Receivers, o.Receivers...)
	for k, n := range o.ErrCodes {
		r.ErrCodes[k] += n
	}
	r.Clients.Reconnects += o.Clients.Reconnects
	r.Clients.SlowReconnects += o.Clients.SlowReconnects
	r.Clients.DuplicateFrames += o.Clients.DuplicateFrames
	r.Clients.Gaps += o.Clients.Gaps
	r.Clients.Resends += o.Clients.Resends
	r.Unacked += o.Unacked
}

// Totals sums every phase.
func (r *EngineResult) Totals() *PhaseResult {
	t := newPhaseResult()
	for _, p := range r.Phases {
		t.merge(p)
	}
	return t
}
