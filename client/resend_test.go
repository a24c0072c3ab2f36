package client

import (
	"testing"
	"time"

	"github.com/parley-chat/parley/protocol"
)

// A send without an acknowledgement is resent AckTimeout after it was written, then after twice, four and
// eight times that (never more), in the order the sends were made; a send written later waits its own
// AckTimeout; a reconnect's resend starts the backoff again.
func TestOverdueResendsBackOff(t *testing.T) {
	const ack = 10 * time.Second
	c := &Client{o: Options{AckTimeout: ack}, pending: map[string]*pendingSend{}}
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	add := func(id string, sent time.Time) {
		c.pending[id] = &pendingSend{frame: protocol.ClientFrame{Type: protocol.TypeSend, ClientMsgID: id}, sent: sent}
		c.order = append(c.order, id)
	}
	add("a", t0)
	add("b", t0.Add(time.Second))
	add("unsent", time.Time{}) // written to no connection yet: only a reconnect sends it
	ids := func(at time.Duration) []string {
		var out []string
		for _, f := range c.overdue(t0.Add(at)) {
			out = append(out, f.ClientMsgID)
		}
		return out
	}
	steps := []struct {
		at   time.Duration
		want []string
	}{
		{10 * time.Second, nil},             // exactly AckTimeout is not overdue yet
		{10*time.Second + 1, []string{"a"}}, // a's first resend: the next is due 20 s later
		{11*time.Second + 1, []string{"b"}}, // b's first
		{30 * time.Second, nil},
		{30*time.Second + 2, []string{"a"}}, // a's second: the next 40 s later
		{31*time.Second + 2, []string{"b"}},
		{70 * time.Second, nil},
		{70*time.Second + 3, []string{"a"}}, // a's third: the next 80 s later
		{71*time.Second + 3, []string{"b"}},
		{150*time.Second + 3, nil},
		{150*time.Second + 4, []string{"a"}}, // a's fourth: the next 80 s later again (the cap), not 160
		{151*time.Second + 3, nil},
		{151*time.Second + 4, []string{"b"}},
		{230*time.Second + 4, nil},
		{230*time.Second + 5, []string{"a"}},
		{231*time.Second + 5, []string{"b"}},
	}
	for _, s := range steps {
		got := ids(s.at)
		if len(got) != len(s.want) || (len(got) > 0 && got[0] != s.want[0]) {
			t.Fatalf("at %v: resent %v, want %v", s.at, got, s.want)
		}
	}
	if c.stats.Resends != 10 {
		t.Fatalf("stats.Resends = %d, want 10", c.stats.Resends)
	}
	if c.pending["unsent"].late != 0 {
		t.Fatal("a send never written was resent for being late")
	}

	// After a reconnect every pending send is written again, in send order, and waits AckTimeout, not the
	// backoff it had reached.
	now := t0.Add(400 * time.Second)
	if got := c.allPending(now); len(got) != 3 || got[0].ClientMsgID != "a" || got[1].ClientMsgID != "b" || got[2].ClientMsgID != "unsent" {
		t.Fatalf("after a reconnect: wrote %v, want a, b and unsent in send order", got)
	}
	if got := c.overdue(now.Add(ack)); len(got) != 0 {
		t.Fatalf("resent %v at AckTimeout after the reconnect", got)
	}
	if got := c.overdue(now.Add(ack + 1)); len(got) != 3 {
		t.Fatalf("after a reconnect: resent %v past AckTimeout, want all three", got)
	}
}
