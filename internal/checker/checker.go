// Package checker is a Jepsen-style history checker for the delivery contract (RELIABILITY.md §2). Tests and
// the benchmark record every send (invoke, then ok / fail / info when the outcome is unknown) and every message
// each receiver applied; Check compares that history with the database's final contents and reports lost
// acknowledged messages, duplicates, reorders and gaps — all of which must be zero.
package checker

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/parley-chat/parley/protocol"
)

// Outcome of a send.
type Outcome int

// Send outcomes.
const (
	Pending Outcome = iota
	OK              // acknowledged: it must be stored exactly once
	Fail            // refused for good: it must not be stored
	Info            // unknown (timeout, lost connection): stored at most once
)

// Op is one send.
type Op struct {
	Session     string // the sender's connection or process; order is checked per session
	Index       int    // issue order within the session
	Conv        string
	ClientMsgID string
	Body        string
	Outcome     Outcome
	Seq         uint64 // acknowledged seq
	ID          string // acknowledged message id
}

// History records sends and deliveries. It is safe for concurrent use.
type History struct {
	mu       sync.Mutex
	ops      []*Op
	sessions map[string]int
	views    map[string]map[string][]uint64 // receiver -> conversation -> applied seqs in order
	starts   map[string]map[string]uint64   // receiver -> conversation -> seq it started after
}

// New returns an empty history.
func New() *History {
	return &History{sessions: map[string]int{}, views: map[string]map[string][]uint64{}, starts: map[string]map[string]uint64{}}
}

// Invoke records the start of a send and returns its op, to be completed with OK, Fail or Info.
func (h *History) Invoke(session, conv, clientMsgID, body string) *Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	op := &Op{Session: session, Index: h.sessions[session], Conv: conv, ClientMsgID: clientMsgID, Body: body}
	h.sessions[session]++
	h.ops = append(h.ops, op)
	return op
}

// OK records an acknowledgement.
func (h *History) OK(op *Op, seq uint64, id string) {
	h.mu.Lock()
	op.Outcome, op.Seq, op.ID = OK, seq, id
	h.mu.Unlock()
}

// Fail records a definite refusal.
func (h *History) Fail(op *Op) {
	h.mu.Lock()
	op.Outcome = Fail
	h.mu.Unlock()
}

// Info records an unknown outcome.
func (h *History) Info(op *Op) {
	h.mu.Lock()
	op.Outcome = Info
	h.mu.Unlock()
}

// Subscribed records that receiver follows conv from after seq start.
func (h *History) Subscribed(receiver, conv string, start uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.starts[receiver] == nil {
		h.starts[receiver] = map[string]uint64{}
		h.views[receiver] = map[string][]uint64{}
	}
	if _, ok := h.starts[receiver][conv]; !ok {
		h.starts[receiver][conv] = start
	}
}

// Applied records that receiver showed message m (what a UI would display).
func (h *History) Applied(receiver string, m protocol.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.views[receiver] == nil {
		h.views[receiver] = map[string][]uint64{}
		h.starts[receiver] = map[string]uint64{}
	}
	h.views[receiver][m.ConversationID] = append(h.views[receiver][m.ConversationID], m.Seq)
}

// Report is the checker's verdict.
type Report struct {
	Ops, OKs, Fails, Infos int
	LostAcked              int // acknowledged sends missing from the database (or at another seq)
	Duplicated             int // a send stored twice, or a seq shown twice by a receiver
	Reordered              int // a receiver applied a lower seq after a higher one, or a session's acked messages out of issue order
	Gaps                   int // seqs missing in the database, or missing from a receiver's final view
	Problems               []string
}

// Clean reports whether nothing was lost, duplicated, reordered or missing.
func (r Report) Clean() bool {
	return r.LostAcked == 0 && r.Duplicated == 0 && r.Reordered == 0 && r.Gaps == 0
}

func (r Report) String() string {
	s := fmt.Sprintf("ops=%d ok=%d fail=%d info=%d lost-acked=%d duplicated=%d reordered=%d gaps=%d",
		r.Ops, r.OKs, r.Fails, r.Infos, r.LostAcked, r.Duplicated, r.Reordered, r.Gaps)
	if len(r.Problems) > 0 {
		n := min(len(r.Problems), 20)
		s += "\n  " + strings.Join(r.Problems[:n], "\n  ")
		if len(r.Problems) > n {
			s += fmt.Sprintf("\n  ... and %d more", len(r.Problems)-n)
		}
	}
	return s
}

// Check compares the history with db, the final contents of every conversation involved (all messages, in
// seq order, as an agent sees them). Receivers are expected to have applied every message of db from their
// start point on.
func (h *History) Check(db map[string][]protocol.Message) Report {
	h.mu.Lock()
	defer h.mu.Unlock()
	var r Report
	problem := func(format string, a ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, a...)) }

	// The database: dense seqs from 1, unique ids.
	type key struct{ conv, clientID string }
	stored := map[key][]protocol.Message{}
	for conv, msgs := range db {
		ids := map[string]bool{}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				r.Gaps++
				problem("conversation %s: position %d holds seq %d (sequence not dense)", conv, i+1, m.Seq)
				break
			}
			if ids[m.ID] {
				r.Duplicated++
				problem("conversation %s: message id %s stored twice", conv, m.ID)
			}
			ids[m.ID] = true
			if m.ClientMsgID != "" {
				stored[key{conv, m.ClientMsgID}] = append(stored[key{conv, m.ClientMsgID}], m)
			}
		}
	}

	// Sends: ok exactly once at the acked seq, info at most once, fail never; per-session order.
	lastSeq := map[string]map[string]uint64{} // session -> conv -> last acked seq by issue order
	ops := slices.Clone(h.ops)
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].Session != ops[j].Session {
			return ops[i].Session < ops[j].Session
		}
		return ops[i].Index < ops[j].Index
	})
	for _, op := range ops {
		r.Ops++
		got := stored[key{op.Conv, op.ClientMsgID}]
		switch op.Outcome {
		case OK:
			r.OKs++
			switch {
			case len(got) == 0:
				r.LostAcked++
				problem("acked send %s (seq %d) of %s is not in the database", op.ClientMsgID, op.Seq, op.Session)
			case len(got) > 1:
				r.Duplicated++
				problem("acked send %s stored %d times", op.ClientMsgID, len(got))
			case got[0].Seq != op.Seq || got[0].ID != op.ID || got[0].Body != op.Body:
				r.LostAcked++
				problem("acked send %s: ack said seq %d id %s, database has seq %d id %s", op.ClientMsgID, op.Seq, op.ID, got[0].Seq, got[0].ID)
			}
			if lastSeq[op.Session] == nil {
				lastSeq[op.Session] = map[string]uint64{}
			}
			if prev := lastSeq[op.Session][op.Conv]; op.Seq < prev {
				r.Reordered++
				problem("session %s: send #%d got seq %d after an earlier send got seq %d", op.Session, op.Index, op.Seq, prev)
			} else {
				lastSeq[op.Session][op.Conv] = op.Seq
			}
		case Info:
			r.Infos++
			if len(got) > 1 {
				r.Duplicated++
				problem("send %s with unknown outcome stored %d times", op.ClientMsgID, len(got))
			}
		case Fail:
			r.Fails++
			if len(got) > 0 && got[0].Body == op.Body {
				problem("send %s failed but is stored (seq %d)", op.ClientMsgID, got[0].Seq)
			}
		default:
			r.Infos++
		}
	}

	// Receivers: each applied seq once, in increasing order, and nothing missing after their start.
	for recv, convs := range h.views {
		for conv, seqs := range convs {
			start := h.starts[recv][conv]
			seen := map[uint64]bool{}
			var prev uint64
			for _, s := range seqs {
				if seen[s] {
					r.Duplicated++
					problem("receiver %s showed seq %d of %s twice", recv, s, conv)
					continue
				}
				seen[s] = true
				if s < prev {
					r.Reordered++
					problem("receiver %s showed seq %d of %s after seq %d", recv, s, conv, prev)
				}
				prev = max(prev, s)
			}
			for _, m := range db[conv] {
				if m.Seq > start && !seen[m.Seq] {
					r.Gaps++
					problem("receiver %s never showed seq %d of %s", recv, m.Seq, conv)
				}
			}
		}
		for conv, start := range h.starts[recv] {
			if _, ok := convs[conv]; !ok && len(db[conv]) > int(start) {
				r.Gaps += len(db[conv]) - int(start)
				problem("receiver %s showed nothing of %s (%d messages after its start)", recv, conv, len(db[conv])-int(start))
			}
		}
	}
	return r
}
