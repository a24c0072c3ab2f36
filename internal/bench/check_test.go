package bench

import (
	"strings"
	"testing"
)

func TestSeqTrackCounts(t *testing.T) {
	cases := []struct {
		name        string
		start       uint64
		shown       []uint64
		head        uint64
		dup, reord  int
		undelivered uint64
	}{
		{"in order", 0, []uint64{1, 2, 3}, 3, 0, 0, 0},
		{"from a start", 10, []uint64{11, 12}, 12, 0, 0, 0},
		{"shown twice", 0, []uint64{1, 2, 2, 3}, 3, 1, 0, 0},
		{"seen before the start", 5, []uint64{5, 6}, 6, 1, 0, 0},
		{"late one", 0, []uint64{1, 3, 2, 4}, 4, 0, 1, 0},
		{"late one then again", 0, []uint64{1, 3, 2, 2}, 3, 1, 1, 0},
		{"skipped for good", 0, []uint64{1, 3, 4}, 4, 0, 0, 1},
		{"tail never shown", 0, []uint64{1, 2}, 5, 0, 0, 3},
		{"nothing shown", 0, nil, 4, 0, 0, 4},
		{"two late ones", 0, []uint64{4, 1, 3, 2}, 4, 0, 3, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := NewSeqTrack(c.start)
			for _, s := range c.shown {
				tr.Show(s)
			}
			if tr.Duplicated != c.dup || tr.Reordered != c.reord || tr.Undelivered(c.head) != c.undelivered {
				t.Fatalf("dup %d reord %d undelivered %d; want %d %d %d", tr.Duplicated, tr.Reordered, tr.Undelivered(c.head), c.dup, c.reord, c.undelivered)
			}
		})
	}
}

func stored(head uint64, keys map[uint64]string) *StoredConv {
	sc := &StoredConv{Head: head, Count: uint64(len(keys)), Keys: keys}
	for s := range keys {
		if sc.Min == 0 || s < sc.Min {
			sc.Min = s
		}
		sc.Max = max(sc.Max, s)
	}
	return sc
}

func track(start uint64, shown ...uint64) SeqTrack {
	t := NewSeqTrack(start)
	for _, s := range shown {
		t.Show(s)
	}
	return *t
}

func TestVerify(t *testing.T) {
	db := map[string]*StoredConv{"c": stored(3, map[uint64]string{1: "a-1", 2: "b-1", 3: "a-2"})}
	acks := []Ack{{"c", 1, "a-1"}, {"c", 2, "b-1"}, {"c", 3, "a-2"}}
	clean := Verify(db, acks, []ReceiverState{{"r1", "c", track(0, 1, 2, 3)}, {"r2", "c", track(1, 2, 3)}})
	if clean.Lost() != 0 || clean.Duplicated != 0 || clean.Reordered != 0 || clean.DBGaps != 0 {
		t.Fatalf("clean run reported %+v", clean)
	}

	cases := []struct {
		name  string
		db    map[string]*StoredConv
		acks  []Ack
		recv  []ReceiverState
		check func(v Verdict) bool
	}{
		{"acked but missing", map[string]*StoredConv{"c": stored(1, map[uint64]string{1: "a-1"})},
			[]Ack{{"c", 1, "a-1"}, {"c", 2, "a-2"}}, nil,
			func(v Verdict) bool { return v.LostAcked == 1 && v.Lost() == 1 }},
		{"acked at another seq", db, []Ack{{"c", 2, "a-1"}}, nil,
			func(v Verdict) bool { return v.LostAcked == 1 }},
		{"conversation gone", db, []Ack{{"x", 1, "a-1"}}, nil,
			func(v Verdict) bool { return v.LostAcked == 1 }},
		{"receiver missed the tail", db, nil, []ReceiverState{{"r", "c", track(0, 1)}},
			func(v Verdict) bool { return v.Undelivered == 2 && v.Lost() == 2 }},
		{"receiver saw one twice", db, nil, []ReceiverState{{"r", "c", track(0, 1, 2, 2, 3)}},
			func(v Verdict) bool { return v.Duplicated == 1 && v.Lost() == 0 }},
		{"receiver saw one late", db, nil, []ReceiverState{{"r", "c", track(0, 1, 3, 2)}},
			func(v Verdict) bool { return v.Reordered == 1 && v.Lost() == 0 }},
		{"missing before the snapshot", map[string]*StoredConv{"c": func() *StoredConv {
			sc := stored(3, map[uint64]string{1: "a-1", 2: "a-2", 3: "a-3"})
			sc.Snap, sc.SnapHead = true, 2
			return sc
		}()}, nil, []ReceiverState{{"r", "c", track(0, 1)}},
			func(v Verdict) bool { return v.Undelivered == 1 }},
		{"seq gap in the database", map[string]*StoredConv{"c": stored(3, map[uint64]string{1: "a-1", 3: "a-2"})}, nil, nil,
			func(v Verdict) bool { return v.DBGaps == 1 }},
		{"last_seq behind the rows", map[string]*StoredConv{"c": stored(2, map[uint64]string{1: "a-1", 2: "a-2", 3: "a-3"})}, nil, nil,
			func(v Verdict) bool { return v.DBGaps == 1 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Verify(c.db, c.acks, c.recv)
			if !c.check(v) {
				t.Fatalf("got %+v", v)
			}
			if len(v.Problems) == 0 {
				t.Fatal("a fault without a problem line")
			}
		})
	}
}

func TestVerifyStoredAfterTheReceiversStopped(t *testing.T) {
	// A send whose sender gave up is committed after the run: the receivers need not have shown it.
	sc := stored(3, map[uint64]string{1: "a-1", 2: "a-2", 3: "a-3"})
	sc.Snap, sc.SnapHead = true, 2
	v := Verify(map[string]*StoredConv{"c": sc}, []Ack{{"c", 2, "a-2"}}, []ReceiverState{{"r", "c", track(0, 1, 2)}})
	if v.Lost() != 0 || v.DBGaps != 0 || len(v.Problems) != 0 {
		t.Fatalf("got %+v", v)
	}
}

func TestVerifyProblemsBounded(t *testing.T) {
	db := map[string]*StoredConv{"c": stored(0, map[uint64]string{})}
	var acks []Ack
	for i := 0; i < 500; i++ {
		acks = append(acks, Ack{"c", uint64(i + 1), "k"})
	}
	v := Verify(db, acks, nil)
	if v.LostAcked != 500 || len(v.Problems) > 50 || !strings.Contains(v.Problems[0], "acked") {
		t.Fatalf("lost %d, %d problem lines", v.LostAcked, len(v.Problems))
	}
}
