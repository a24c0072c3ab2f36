package httpapi

import (
	"testing"
	"time"
)

// The heartbeat is spread over one slot a second of its interval (at most 25, at least 1), and over a whole
// interval of slots every connection is beaten exactly once, whatever the count of slots.
func TestHeartbeatSlots(t *testing.T) {
	for hb, want := range map[time.Duration]int{100 * time.Millisecond: 1, 1500 * time.Millisecond: 1,
		5 * time.Second: 5, 25 * time.Second: 25, time.Minute: 25} {
		if got := (&Server{heartbeat: hb}).heartbeatSlots(); got != want {
			t.Errorf("heartbeat %s: %d slots, want %d", hb, got, want)
		}
	}
	s := &Server{conns: map[*wsConn]struct{}{}}
	for range 103 {
		s.connSeq++
		s.conns[&wsConn{hbSlot: s.connSeq % maxHeartbeatSlots}] = struct{}{}
	}
	for _, n := range []int{1, 5, 7, 25} {
		seen := map[*wsConn]int{}
		largest := 0
		for slot := range n {
			cs := s.slotConns(n, slot)
			largest = max(largest, len(cs))
			for _, c := range cs {
				seen[c]++
			}
		}
		if len(seen) != 103 {
			t.Errorf("%d slots: %d of 103 connections beaten", n, len(seen))
		}
		for _, k := range seen {
			if k != 1 {
				t.Fatalf("%d slots: a connection beaten %d times in one interval", n, k)
			}
		}
		if n > 1 && largest > 2*103/n+5 {
			t.Errorf("%d slots: a slot holds %d of 103 connections: not spread", n, largest)
		}
	}
}
