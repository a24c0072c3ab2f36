package bench

import (
	"fmt"
	"sort"
)

// SeqTrack follows what one receiver showed of one conversation (or stream): every seq after Start must be
// shown exactly once and in increasing order. It keeps only the last seq and the seqs skipped over, so a run
// of millions of messages needs a few words per receiver and conversation.
type SeqTrack struct {
	Start      uint64   `json:"start"` // the receiver follows from after this seq
	Last       uint64   `json:"last"`  // the highest seq shown
	Missing    []uint64 `json:"missing,omitempty"`
	Duplicated int      `json:"dup,omitempty"`
	Reordered  int      `json:"reord,omitempty"`
	Shown      uint64   `json:"shown"`
}

// NewSeqTrack starts following after seq start.
func NewSeqTrack(start uint64) *SeqTrack { return &SeqTrack{Start: start, Last: start} }

// maxMissing bounds the skipped seqs remembered; a receiver that far behind is broken anyway.
const maxMissing = 100000

// Show records that the receiver showed seq.
func (t *SeqTrack) Show(seq uint64) {
	t.Shown++
	switch {
	case seq == t.Last+1:
		t.Last = seq
	case seq > t.Last+1:
		// A skip: the seqs in between are missing until (and unless) they come, late.
		for s := t.Last + 1; s < seq && len(t.Missing) < maxMissing; s++ {
			t.Missing = append(t.Missing, s)
		}
		t.Last = seq
	default:
		for i, s := range t.Missing {
			if s == seq {
				t.Missing = append(t.Missing[:i], t.Missing[i+1:]...)
				t.Reordered++
				return
			}
		}
		// At or below Last and not missing: shown before (or before the start), so shown twice.
		t.Duplicated++
	}
}

// Undelivered returns how many seqs in (Start, head] the receiver never showed.
func (t *SeqTrack) Undelivered(head uint64) uint64 {
	n := uint64(len(t.Missing))
	if head > t.Last {
		n += head - t.Last
	}
	return n
}

// Ack is one acknowledged send: the conversation, the seq the server gave and the client message id.
type Ack struct {
	Conv string `json:"c"`
	Seq  uint64 `json:"s"`
	CID  string `json:"k"`
}

// StoredConv is what the database holds of one conversation after a run.
type StoredConv struct {
	Head  uint64            // conversations.last_seq
	Count uint64            // rows in messages
	Min   uint64            // lowest seq stored
	Max   uint64            // highest seq stored
	Keys  map[uint64]string // seq -> client_msg_id, for the seqs the check needs (those after the run's start)
	// Snap, when set, is the head when the receivers stopped listening: they must have shown the seqs up to it
	// only. An overloaded server goes on committing sends whose senders gave up, after the run.
	Snap     bool
	SnapHead uint64
}

// ReceiverState is one receiver's view of one conversation, as a generator reports it.
type ReceiverState struct {
	Receiver string   `json:"r"`
	Conv     string   `json:"c"`
	Track    SeqTrack `json:"t"`
}

// Verdict is the outcome of the delivery check.
type Verdict struct {
	LostAcked   int      `json:"lost_acked"`  // acknowledged but not in the database at the acknowledged seq
	Undelivered uint64   `json:"undelivered"` // stored seqs a subscribed receiver never showed
	Duplicated  int      `json:"duplicated"`  // seqs a receiver showed twice
	Reordered   int      `json:"reordered"`   // seqs a receiver showed after a higher one
	DBGaps      int      `json:"db_gaps"`     // conversations whose stored seqs are not exactly 1..last_seq
	Problems    []string `json:"problems,omitempty"`
}

// Lost is what the result format calls lost: acknowledged messages missing from the database plus stored
// messages a subscribed receiver never got.
func (v Verdict) Lost() int { return v.LostAcked + int(v.Undelivered) }

func (v *Verdict) problem(format string, a ...any) {
	if len(v.Problems) < 50 {
		v.Problems = append(v.Problems, fmt.Sprintf(format, a...))
	}
}

// Verify compares the acknowledgements and the receivers' views with the database's final contents.
func Verify(db map[string]*StoredConv, acks []Ack, receivers []ReceiverState) Verdict {
	var v Verdict
	convs := make([]string, 0, len(db))
	for id := range db {
		convs = append(convs, id)
	}
	sort.Strings(convs)
	for _, id := range convs {
		sc := db[id]
		if sc.Count != sc.Head || sc.Max != sc.Head || (sc.Head > 0 && sc.Min != 1) {
			v.DBGaps++
			v.problem("conversation %s: last_seq %d but %d rows with seqs %d..%d", id, sc.Head, sc.Count, sc.Min, sc.Max)
		}
	}
	for _, a := range acks {
		sc := db[a.Conv]
		if sc == nil {
			v.LostAcked++
			v.problem("acked %s in %s: conversation not found", a.CID, a.Conv)
			continue
		}
		if got, ok := sc.Keys[a.Seq]; !ok || got != a.CID {
			v.LostAcked++
			v.problem("acked %s at seq %d of %s: the database has %q there", a.CID, a.Seq, a.Conv, got)
		}
	}
	for _, r := range receivers {
		v.Duplicated += r.Track.Duplicated
		v.Reordered += r.Track.Reordered
		if r.Track.Duplicated > 0 || r.Track.Reordered > 0 {
			v.problem("receiver %s of %s: %d shown twice, %d out of order", r.Receiver, r.Conv, r.Track.Duplicated, r.Track.Reordered)
		}
		head := uint64(0)
		if sc := db[r.Conv]; sc != nil {
			head = sc.Head
			if sc.Snap {
				head = min(head, sc.SnapHead)
			}
		}
		if n := r.Track.Undelivered(head); n > 0 {
			v.Undelivered += n
			v.problem("receiver %s of %s: %d of the seqs up to %d never shown (last %d, %d skipped)", r.Receiver, r.Conv, n, head, r.Track.Last, len(r.Track.Missing))
		}
	}
	return v
}
