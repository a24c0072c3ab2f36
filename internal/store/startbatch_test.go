package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

type startFixture struct {
	s      *Store
	team   string
	site   string
	agents []chat.Candidate
}

// startFixture opens a MySQL store (the batched starts are MySQL's) with a team, a site and agents online
// with auto-accept and the given capacities.
func newStartFixture(t *testing.T, capacities ...int) *startFixture {
	t.Helper()
	s := openForPlans(t, "mysql")
	ctx := context.Background()
	team, err := s.CreateTeam(ctx, "Support")
	if err != nil {
		t.Fatal(err)
	}
	site := &chat.Site{Name: "site", WidgetKey: "key-" + team.ID, Secret: "s", DefaultTeamID: team.ID}
	if err := s.CreateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	f := &startFixture{s: s, team: team.ID, site: site.ID}
	for i, c := range capacities {
		a := &chat.Agent{Email: fmt.Sprintf("a%d@example.com", i), Name: fmt.Sprint("Agent ", i), Role: chat.RoleAgent,
			Capacity: c, AutoAccept: true, Weight: 100, PasswordHash: "x", Teams: []string{team.ID}}
		if err := s.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPresence(ctx, a.ID, chat.PresenceOnline); err != nil {
			t.Fatal(err)
		}
	}
	cands, err := s.Candidates(ctx, team.ID, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	f.agents = chat.Rank(cands)
	return f
}

func (f *startFixture) customer(t *testing.T, name string) string {
	t.Helper()
	c, _, err := f.s.CreateCustomer(context.Background(), &chat.Customer{SiteID: f.site, Name: name}, chat.ChannelWeb, "")
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (f *startFixture) unit(customer string) *startUnit {
	return &startUnit{ctx: context.Background(), done: make(chan struct{}), in: StartInput{SiteID: f.site, CustomerID: customer,
		TeamID: f.team, Channel: chat.ChannelWeb, Route: &RouteOnStart{Candidates: f.agents, OfferFor: time.Minute}}}
}

// check verifies what every batch must leave behind: each stream's events numbered 1..head without a gap,
// every agent's slots equal to the conversations assigned to them and within capacity, and each open
// conversation's system message at seq 1 when it was assigned.
func (f *startFixture) check(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	rows, err := f.s.r.QueryContext(ctx, "SELECT s.id, s.last_seq, count(e.seq), coalesce(min(e.seq), 0), coalesce(max(e.seq), 0) FROM streams s LEFT JOIN events e ON e.stream = s.id GROUP BY s.id, s.last_seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var head, n, lo, hi uint64
		if err := rows.Scan(&id, &head, &n, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		if n != head || (n > 0 && (lo != 1 || hi != head)) {
			t.Errorf("stream %s: head %d, %d events from %d to %d: not dense", id, head, n, lo, hi)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	arows, err := f.s.r.QueryContext(ctx, `SELECT a.id, a.capacity, a.slots_used,
		(SELECT count(*) FROM conversations c WHERE c.agent_id = a.id AND c.status = 'assigned') FROM agents a`)
	if err != nil {
		t.Fatal(err)
	}
	defer arows.Close()
	for arows.Next() {
		var id string
		var capacity, used, held int
		if err := arows.Scan(&id, &capacity, &used, &held); err != nil {
			t.Fatal(err)
		}
		if used != held || used > capacity {
			t.Errorf("agent %s: capacity %d, slots used %d, conversations assigned %d", id, capacity, used, held)
		}
	}
	var missing int
	if err := f.s.r.QueryRowContext(ctx, `SELECT count(*) FROM conversations c WHERE c.status = 'assigned'
		AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.seq = 1 AND c.last_seq = 1)`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Errorf("%d assigned conversations without their system message at seq 1", missing)
	}
}

// In a batch, a customer who starts twice gets one conversation; capacity stops assignment, and once one start
// stays queued the later ones queue behind it (FIFO) even when a slot would be free for them; the events are
// numbered densely in the order of the starts.
func TestStartBatchCapacityFIFOAndRepeat(t *testing.T) {
	f := newStartFixture(t, 2, 1)
	ctx := context.Background()
	a, b, c, d := f.customer(t, "a"), f.customer(t, "b"), f.customer(t, "c"), f.customer(t, "d")
	units := []*startUnit{f.unit(a), f.unit(b), f.unit(a), f.unit(c), f.unit(d)}
	if err := f.s.tryTx(ctx, func(tx *sql.Tx) error { return f.s.startUnits(tx, units) }); err != nil {
		t.Fatal(err)
	}
	if units[2].err != nil || !units[2].existing || units[2].conv != units[0].conv {
		t.Fatalf("the second start of the same customer: %v %v %v; want the first one's conversation", units[2].conv, units[2].existing, units[2].err)
	}
	var statuses []chat.Status
	for i, u := range units {
		if i == 2 {
			continue
		}
		if u.err != nil || u.existing {
			t.Fatalf("start %d: %v %v", i, u.existing, u.err)
		}
		statuses = append(statuses, u.conv.Status)
	}
	// Capacity 2 + 1: a, b, c are assigned, d waits.
	want := []chat.Status{chat.StatusAssigned, chat.StatusAssigned, chat.StatusAssigned, chat.StatusQueued}
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	// The team stream holds created, assigned per routed start and created for d, in the order they ran.
	evs, err := f.s.Events(ctx, chat.TeamStream(f.team), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.Kind+":"+ev.ConversationID)
	}
	var exp []string
	for i, u := range units {
		if i == 2 {
			continue
		}
		exp = append(exp, chat.EventCreated+":"+u.conv.ID)
		if u.conv.Status == chat.StatusAssigned {
			exp = append(exp, chat.EventAssigned+":"+u.conv.ID)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("team stream\n got %v\nwant %v", got, exp)
	}
	for _, u := range units {
		for _, ev := range u.ch.Events {
			if ev.Seq == 0 {
				t.Fatalf("an event returned without its seq: %+v", ev)
			}
		}
	}
	f.check(t)

	// The next batch: a slot is free again (a's conversation closes), yet e waits behind d, who came first.
	if _, _, _, err := f.s.CloseConversation(ctx, units[0].conv.ID, Closer{Type: chat.SenderAgent, Name: "x"}); err != nil {
		t.Fatal(err)
	}
	e := f.customer(t, "e")
	next := []*startUnit{f.unit(e)}
	if err := f.s.tryTx(ctx, func(tx *sql.Tx) error { return f.s.startUnits(tx, next) }); err != nil {
		t.Fatal(err)
	}
	if next[0].err != nil || next[0].conv.Status != chat.StatusQueued {
		t.Fatalf("e: %v, %v; want queued behind d", next[0].conv, next[0].err)
	}
	f.check(t)
}

// A deadlock in the middle of a batch rolls InnoDB's whole transaction back; every start of the batch then
// runs again on its own, and each is created exactly once.
func TestStartBatchDeadlockFallsBack(t *testing.T) {
	f := newStartFixture(t, 10)
	ctx := context.Background()
	var units []*startUnit
	for i := range 4 {
		units = append(units, f.unit(f.customer(t, fmt.Sprint("c", i))))
	}
	agent := f.agents[0].ID
	// Another transaction, made heavier than the batch will be (InnoDB rolls back the lighter one), holds the
	// agent's row; the batch, holding the team's queue, waits for it; then the other transaction asks for the
	// team's queue: a deadlock, in which the batch is the victim.
	other, err := f.s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	for i := range 200 {
		if _, err := other.ExecContext(ctx, "INSERT INTO meta (k, v) VALUES (?, 'x')", fmt.Sprint("deadlock-test-", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.ExecContext(ctx, "UPDATE agents SET last_seen = last_seen + 1 WHERE id = ?", agent); err != nil {
		t.Fatal(err)
	}
	b := f.s.batchStarts
	done := make(chan struct{})
	go func() {
		b.commit(units)
		b.release() // as the batcher's loop does when its queue is empty
		close(done)
	}()
	// Wait until the batch waits for the agent's row, then close the cycle.
	waitForStatement(t, f.s, "SELECT id, capacity, slots_used%FOR UPDATE")
	if err := f.s.lockQueue(ctx, other, f.team); err != nil {
		t.Fatalf("the heavier transaction was chosen as the deadlock's victim: %v", err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	<-done
	if n := b.fallbacks.Load(); n != 1 {
		t.Fatalf("batches fallen back: %d, want 1", n)
	}
	seen := map[string]bool{}
	for i, u := range units {
		if u.err != nil || u.conv == nil {
			t.Fatalf("start %d after the fallback: %v", i, u.err)
		}
		if u.conv.Status != chat.StatusAssigned || seen[u.conv.ID] {
			t.Fatalf("start %d: %s %s", i, u.conv.ID, u.conv.Status)
		}
		seen[u.conv.ID] = true
		select {
		case <-u.done:
		default:
			t.Fatalf("start %d not answered", i)
		}
	}
	var n int
	if err := f.s.r.QueryRowContext(ctx, "SELECT count(*) FROM conversations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(units) {
		t.Fatalf("%d conversations, want %d", n, len(units))
	}
	f.check(t)
}

// A start that fails inside a batch — its customer's conversation in another team, committed by another
// transaction after the batch looked for open ones, breaks the batch's INSERT on the unique key — rolls the
// batch back; every start then runs alone: that customer gets the other conversation, the others theirs.
func TestStartBatchFailingStartFallsBack(t *testing.T) {
	f := newStartFixture(t, 10)
	ctx := context.Background()
	var units []*startUnit
	for i := range 4 {
		units = append(units, f.unit(f.customer(t, fmt.Sprint("c", i))))
	}
	otherTeam, err := f.s.CreateTeam(ctx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	theirs := "01900000-0000-7000-8000-000000000001"
	if _, err := other.ExecContext(ctx, `INSERT INTO conversations (id, site_id, customer_id, team_id, status, channel, priority, last_seq,
		created_at, updated_at, last_message_at, queued_at) VALUES (?, ?, ?, ?, 'queued', 'web', 0, 0, 1, 1, 1, 1)`,
		theirs, f.site, units[2].in.CustomerID, otherTeam.ID); err != nil {
		t.Fatal(err)
	}
	b := f.s.batchStarts
	done := make(chan struct{})
	go func() {
		b.commit(units)
		b.release()
		close(done)
	}()
	waitForStatement(t, f.s, "INSERT INTO conversations (id, site_id, customer_id, team_id, agent_id,%")
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	<-done
	if n := b.fallbacks.Load(); n != 1 {
		t.Fatalf("batches fallen back: %d, want 1", n)
	}
	for i, u := range units {
		if u.err != nil || u.conv == nil {
			t.Fatalf("start %d: %v", i, u.err)
		}
		if i == 2 {
			if !u.existing || u.conv.ID != theirs {
				t.Fatalf("start of the customer with a conversation elsewhere: %s (existing %v), want %s", u.conv.ID, u.existing, theirs)
			}
			continue
		}
		if u.existing || u.conv.Status != chat.StatusAssigned {
			t.Fatalf("start %d: %s, existing %v", i, u.conv.Status, u.existing)
		}
	}
	f.check(t)
}

// waitForStatement waits until a statement matching the LIKE pattern has been running on the test's database
// for 200 ms: it waits for a lock the test holds (none of these statements takes that long otherwise).
func waitForStatement(t *testing.T, s *Store, like string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := s.r.QueryRow("SELECT count(*) FROM information_schema.processlist WHERE db = database() AND info LIKE ? AND time_ms >= 200", like).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no statement like %q ever waited", like)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
