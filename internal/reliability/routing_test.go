package reliability

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/protocol"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// routingAgent creates an agent of the node's default team with a capacity and auto-accept setting, logged in.
func routingAgent(t testing.TB, n *apptest.Node, name string, capacity int, autoAccept bool) (*client.API, string) {
	t.Helper()
	ctx := context.Background()
	var a struct {
		ID string `json:"id"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": name + "@example.com", "name": name,
		"password": apptest.Password, "role": chat.RoleAgent, "teams": []string{n.TeamID}, "capacity": capacity, "auto_accept": autoAccept}, &a); err != nil {
		t.Fatalf("create agent %s: %v", name, err)
	}
	api := &client.API{BaseURL: n.URL}
	if _, err := api.Login(ctx, name+"@example.com", apptest.Password); err != nil {
		t.Fatal(err)
	}
	return api, a.ID
}

// goOnline connects the agent over a WebSocket: presence follows connections.
func goOnline(t testing.TB, n *apptest.Node, api *client.API) *rawWS {
	t.Helper()
	return authed(t, n.URL, api.Token)
}

// eventually polls cond until it holds, failing after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func convOf(t testing.TB, api *client.API, id string) *client.Conversation {
	t.Helper()
	c, err := api.Conversation(context.Background(), id)
	if err != nil {
		t.Fatalf("conversation %s: %v", id, err)
	}
	return c
}

// setRouting changes the default site's routing settings directly in the store (the admin pages are their own
// issue); the router reads them on its next decision.
func setRouting(t testing.TB, n *apptest.Node, rs chat.RoutingSettings) {
	t.Helper()
	ctx := context.Background()
	sites, err := n.App.Store.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	site := sites[0]
	site.Settings.Routing = rs
	if err := n.App.Store.UpdateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
}

func systemEvents(msgs []protocol.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Type == "system" && len(m.Meta) > 0 {
			var meta map[string]string
			_ = json.Unmarshal(m.Meta, &meta)
			out = append(out, meta["event"])
		}
	}
	return out
}

func metricValue(t testing.TB, n *apptest.Node, line string) bool {
	t.Helper()
	resp, err := http.Get(n.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), line)
}

// A free agent gets a new conversation at once; when they are full the next customers wait in FIFO order and
// see their place over WebSocket and long-poll, pushed again as the queue moves; a close drains the queue.
func TestRoutingAssignsQueuesAndDrains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		ctx := context.Background()
		ann, annID := routingAgent(t, n, "ann", 1, true)
		agentWS := goOnline(t, n, ann)
		agentWS.send(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{{Stream: chat.AgentStream(annID)}}})

		_, conv1 := customerConv(t, n, "first")
		if conv1.Status != "assigned" || conv1.AgentID != annID {
			t.Fatalf("first conversation: status %s agent %q, want assigned to ann", conv1.Status, conv1.AgentID)
		}
		c2, conv2 := customerConv(t, n, "second")
		c3, conv3 := customerConv(t, n, "third")
		for _, c := range []*client.Conversation{conv2, conv3} {
			if c.Status != "queued" {
				t.Fatalf("conversation %s is %s, want queued while ann is full", c.ID, c.Status)
			}
		}
		// WebSocket: the second customer learns they are next.
		ws2 := authed(t, n.URL, c2.Token)
		ws2.send(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{{ConversationID: conv2.ID}}})
		q := ws2.until(5*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeQueue })
		if q.Position != 1 || q.ConversationID != conv2.ID {
			t.Fatalf("queue frame %+v, want position 1 of %s", q, conv2.ID)
		}
		if q.EstimatedWaitS <= 0 {
			t.Fatalf("estimated wait %d with an agent online, want > 0", q.EstimatedWaitS)
		}
		// Long-poll: the third is second in line.
		pr, err := c3.Poll(ctx, map[string]uint64{conv3.ID: 0}, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(pr.Queue) != 1 || pr.Queue[0].Position != 2 {
			t.Fatalf("poll queue %+v, want position 2", pr.Queue)
		}
		if qp, err := c3.Queue(ctx, conv3.ID); err != nil || qp.Position != 2 {
			t.Fatalf("GET queue: %+v %v, want position 2", qp, err)
		}
		// A held long-poll wakes when the third customer moves up.
		moved := make(chan *client.PollResult, 1)
		go func() {
			r, err := c3.Poll(ctx, map[string]uint64{conv3.ID: pr.Heads[conv3.ID]}, "", 15*time.Second)
			if err != nil {
				t.Errorf("poll: %v", err)
			}
			moved <- r
		}()
		time.Sleep(200 * time.Millisecond) // let the poll be held
		if _, err := ann.CloseConversation(ctx, conv1.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "second conversation assigned after the first closed", func() bool {
			c := convOf(t, c2, conv2.ID)
			return c.Status == "assigned" && c.AgentID == annID
		})
		// The second customer sees the agent join.
		ws2.until(5*time.Second, func(f protocol.ServerFrame) bool {
			return f.Type == protocol.TypeMessage && f.Message != nil && f.Message.Type == "system" && strings.Contains(string(f.Message.Meta), `"assigned"`)
		})
		select {
		case r := <-moved:
			if r == nil || len(r.Queue) != 1 || r.Queue[0].Position != 1 {
				t.Fatalf("held poll answered %+v, want the third customer at position 1", r)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the held long-poll never answered")
		}
		// The agent's stream carried the assignments.
		agentWS.until(5*time.Second, func(f protocol.ServerFrame) bool {
			return f.Type == protocol.TypeEvent && f.Event != nil && f.Event.Kind == chat.EventAssigned && f.Event.ConversationID == conv2.ID
		})
		if convOf(t, c3, conv3.ID).Status != "queued" {
			t.Fatal("the third conversation left the queue although ann is full")
		}
		var st struct {
			Agents []struct {
				ID        string `json:"id"`
				SlotsUsed int    `json:"slots_used"`
				Presence  string `json:"presence"`
			} `json:"agents"`
			Teams []struct {
				Queued int `json:"queued"`
			} `json:"teams"`
		}
		if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/routing/state", nil, &st); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range st.Agents {
			if a.ID == annID {
				found = true
				if a.SlotsUsed != 1 || a.Presence != "online" {
					t.Fatalf("ann in the supervisor view: %+v, want 1 slot used, online", a)
				}
			}
		}
		if !found || len(st.Teams) == 0 || st.Teams[0].Queued != 1 {
			t.Fatalf("supervisor view %+v: want ann and one queued conversation", st)
		}
		// An agent is denied the supervisor view.
		if _, err := ann.Do(ctx, http.MethodGet, "/api/v1/routing/state", nil, nil); !strings.Contains(fmt.Sprint(err), "403") {
			t.Fatalf("agent reading the routing state: %v, want 403", err)
		}
	})
}

// With one agent who takes one conversation at a time, conversations are served in the order they arrived.
func TestRoutingFIFO(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		ctx := context.Background()
		bo, boID := routingAgent(t, n, "bo", 1, true)
		goOnline(t, n, bo)
		var order []string
		var custs []*client.API
		for i := range 5 {
			c, conv := customerConv(t, n, fmt.Sprint("c", i))
			order, custs = append(order, conv.ID), append(custs, c)
		}
		for i, id := range order {
			eventually(t, 10*time.Second, "conversation "+fmt.Sprint(i)+" assigned in arrival order", func() bool {
				return convOf(t, custs[i], id).Status == "assigned"
			})
			for j := i + 1; j < len(order); j++ {
				if c := convOf(t, custs[j], order[j]); c.Status != "queued" {
					t.Fatalf("conversation %d is %s before %d was served", j, c.Status, i)
				}
				if qp, _ := custs[j].Queue(ctx, order[j]); qp.Position != j-i {
					t.Fatalf("conversation %d at position %d, want %d", j, qp.Position, j-i)
				}
			}
			if convOf(t, custs[i], id).AgentID != boID {
				t.Fatal("assigned to someone else")
			}
			if _, err := bo.CloseConversation(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Offers: declined goes to the next agent; an offer not accepted in time goes to the next too; accepting
// assigns. The clock is injected: deadlines pass when the test says so.
func TestRoutingOffersDeclineExpireAccept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		clk := newClock()
		n := apptest.Start(t, kind, apptest.Options{Now: clk.Now})
		setRouting(t, n, chat.RoutingSettings{OfferTimeoutS: 30})
		ctx := context.Background()
		apis := map[string]*client.API{}
		for _, name := range []string{"cy", "di"} {
			api, id := routingAgent(t, n, name, 2, false)
			goOnline(t, n, api)
			apis[id] = api
		}
		cust, conv := customerConv(t, n, "asker")
		if conv.Status != "offered" || apis[conv.OfferedTo] == nil {
			t.Fatalf("new conversation %s offered to %q, want an offer to one of the agents", conv.Status, conv.OfferedTo)
		}
		first := conv.OfferedTo
		if _, err := apis[first].Decline(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
		var second string
		eventually(t, 10*time.Second, "offered to the other agent after a decline", func() bool {
			c := convOf(t, cust, conv.ID)
			second = c.OfferedTo
			return c.Status == "offered" && c.OfferedTo != "" && c.OfferedTo != first
		})
		// The one who declined cannot accept any more.
		if _, err := apis[first].Accept(ctx, conv.ID); err == nil || !strings.Contains(err.Error(), "409") {
			t.Fatalf("accepting a declined offer: %v, want 409", err)
		}
		// The second lets it expire: the deadline passes, the sweep returns it to the first.
		clk.Add(31 * time.Second)
		if err := n.App.Router.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		// The node sweeps every second by itself as well; a sweep that meets a transient conflict leaves the work
		// to the next one, so the test sweeps again while it waits, as the node would.
		lastState, tries := "", 0
		eventually(t, 10*time.Second, "re-offered after the offer expired", func() bool {
			c := convOf(t, cust, conv.ID)
			if c.Status == "offered" && c.OfferedTo == first {
				return true
			}
			if state := c.Status + " to " + c.OfferedTo; state != lastState {
				t.Logf("waiting: %s (first %s, second %s)", state, first, second)
				lastState = state
			}
			if tries++; tries%25 == 0 {
				if err := n.App.Router.Sweep(ctx); err != nil {
					t.Logf("sweep: %v", err)
				}
			}
			return false
		})
		if _, err := apis[second].Accept(ctx, conv.ID); err == nil {
			t.Fatal("accepting an expired offer succeeded")
		}
		got, err := apis[first].Accept(ctx, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "assigned" || got.AgentID != first {
			t.Fatalf("after accept: %s %q", got.Status, got.AgentID)
		}
		if ev := systemEvents(allMessages(t, apis[first], conv.ID)); len(ev) != 1 || ev[0] != "assigned" {
			t.Fatalf("system messages %v, want exactly one 'assigned'", ev)
		}
		for _, line := range []string{`parley_offers_total{outcome="declined"} 1`, `parley_offers_total{outcome="expired"} 1`,
			`parley_offers_total{outcome="accepted"} 1`} {
			if !metricValue(t, n, line) {
				t.Errorf("/metrics lacks %s", line)
			}
		}
	})
}

// An agent whose connections drop stays present through the grace period; after it they go offline, their
// offers return to the queue at their original place and, when the site says so, their conversations too.
func TestRoutingVanishedAgentGrace(t *testing.T) {
	for _, requeue := range []bool{false, true} {
		t.Run(fmt.Sprint("requeue=", requeue), func(t *testing.T) {
			clk := newClock()
			n := apptest.Start(t, "sqlite", apptest.Options{Now: clk.Now})
			setRouting(t, n, chat.RoutingSettings{RequeueOnAgentOffline: requeue})
			ctx := context.Background()
			eve, eveID := routingAgent(t, n, "eve", 1, true)
			ws := goOnline(t, n, eve)
			cust, conv := customerConv(t, n, "held")
			if conv.AgentID != eveID {
				t.Fatalf("not assigned to eve: %+v", conv)
			}
			fay, fayID := routingAgent(t, n, "fay", 1, false)
			fws := goOnline(t, n, fay)
			cust2, conv2 := customerConv(t, n, "offered")
			if conv2.OfferedTo != fayID {
				t.Fatalf("second conversation not offered to fay: %+v", conv2)
			}
			queuedAt := mustQueuedAt(t, n, conv2.ID)
			ws.c.Close()
			fws.c.Close()
			time.Sleep(100 * time.Millisecond)
			clk.Add(30 * time.Second) // within the grace period (1m)
			if err := n.App.Router.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if c := convOf(t, cust, conv.ID); c.Status != "assigned" {
				t.Fatalf("within the grace period the conversation is %s", c.Status)
			}
			clk.Add(31 * time.Second)
			if err := n.App.Router.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			a, err := n.App.Store.Agent(ctx, eveID)
			if err != nil || a.Presence != chat.PresenceOffline {
				t.Fatalf("eve after the grace period: %+v %v, want offline", a, err)
			}
			c2 := convOf(t, cust2, conv2.ID)
			if c2.Status != "queued" || c2.OfferedTo != "" {
				t.Fatalf("fay's offer after she vanished: %s to %q, want back in the queue", c2.Status, c2.OfferedTo)
			}
			if !mustQueuedAt(t, n, conv2.ID).Equal(queuedAt) {
				t.Fatal("the returned offer lost its place in the queue")
			}
			c := convOf(t, cust, conv.ID)
			if requeue && (c.Status != "queued" || c.LastAgentID != eveID) {
				t.Fatalf("with requeue the conversation is %s (last agent %q), want queued", c.Status, c.LastAgentID)
			}
			if !requeue && (c.Status != "assigned" || c.AgentID != eveID) {
				t.Fatalf("without requeue the conversation is %s with %q, want kept by eve", c.Status, c.AgentID)
			}
			if a, _ := n.App.Store.Agent(ctx, fayID); a.SlotsUsed != 0 {
				t.Fatalf("fay holds %d slots after her offer returned", a.SlotsUsed)
			}
			// Eve comes back: online again, and (with requeue) she gets a conversation back.
			goOnline(t, n, eve)
			if requeue {
				eventually(t, 10*time.Second, "eve takes a conversation again", func() bool {
					a, _ := n.App.Store.Agent(ctx, eveID)
					return a.SlotsUsed == 1
				})
			}
		})
	}
}

func mustQueuedAt(t testing.TB, n *apptest.Node, id string) time.Time {
	c, err := n.App.Store.Conversation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.QueuedAt
}

// Transfer to an agent and to a team (with a note customers never see); close and reopen within the window
// with the previous agent; after the window a message is refused.
func TestRoutingTransferAndReopen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		clk := newClock()
		n := apptest.Start(t, kind, apptest.Options{Now: clk.Now})
		setRouting(t, n, chat.RoutingSettings{ReopenWindowS: 600})
		ctx := context.Background()
		gus, gusID := routingAgent(t, n, "gus", 2, true)
		goOnline(t, n, gus)
		cust, conv := customerConv(t, n, "moving")
		if conv.AgentID != gusID {
			t.Fatalf("not assigned to gus: %+v", conv)
		}
		hal, halID := routingAgent(t, n, "hal", 1, true)
		goOnline(t, n, hal)
		got, err := gus.Transfer(ctx, conv.ID, halID, "", "VIP: refund pending")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != "assigned" || got.AgentID != halID {
			t.Fatalf("after transfer: %s %q", got.Status, got.AgentID)
		}
		// Hal is full now: a transfer of another conversation to him is refused, nothing changes.
		_, conv2 := customerConv(t, n, "other")
		if _, err := gus.Transfer(ctx, conv2.ID, halID, "", ""); err == nil || !strings.Contains(err.Error(), "409") {
			t.Fatalf("transfer to a full agent: %v, want 409", err)
		}
		if c := convOf(t, gus, conv2.ID); c.AgentID != gusID {
			t.Fatalf("a refused transfer moved the conversation to %q", c.AgentID)
		}
		var team struct {
			ID string `json:"id"`
		}
		if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/teams", map[string]string{"name": "Billing"}, &team); err != nil {
			t.Fatal(err)
		}
		if got, err = hal.Transfer(ctx, conv.ID, "", team.ID, "billing question"); err != nil {
			t.Fatal(err)
		}
		if got.Status != "queued" || got.TeamID != team.ID {
			t.Fatalf("after transfer to a team: %s in %s", got.Status, got.TeamID)
		}
		agentView := allMessages(t, n.Admin, conv.ID)
		if ev := systemEvents(agentView); strings.Join(ev, ",") != "assigned,transferred,transferred" {
			t.Fatalf("system messages %v", ev)
		}
		notes := 0
		for _, m := range agentView {
			if m.Type == "note" {
				notes++
			}
		}
		if notes != 2 {
			t.Fatalf("%d notes in the agent's view, want 2", notes)
		}
		page, err := cust.After(ctx, conv.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			if m.Type == "note" || strings.Contains(m.Body, "refund") {
				t.Fatalf("the customer sees a note: %+v", m)
			}
		}
		if a, _ := n.App.Store.Agent(ctx, halID); a.SlotsUsed != 0 {
			t.Fatalf("hal holds %d slots after transferring away", a.SlotsUsed)
		}
		// Nobody of Billing is online: an admin who is not connected cannot pick it up either.
		if _, err := n.Admin.PickUp(ctx, conv.ID); err == nil {
			t.Fatal("an offline admin picked up a conversation")
		}
		// Gus joins Billing: the router hands him the waiting conversation at once.
		if _, err := n.Admin.Do(ctx, http.MethodPatch, "/api/v1/agents/"+gusID, map[string]any{"teams": []string{n.TeamID, team.ID}}, nil); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "gus gets the Billing conversation after joining the team", func() bool {
			c := convOf(t, gus, conv.ID)
			return c.Status == "assigned" && c.AgentID == gusID
		})
		if _, err := gus.CloseConversation(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
		clk.Add(5 * time.Minute)
		ack, err := cust.PostMessage(ctx, conv.ID, client.NewID(), "one more question", "")
		if err != nil {
			t.Fatalf("writing within the reopen window: %v", err)
		}
		c := convOf(t, cust, conv.ID)
		if c.Status != "assigned" || c.AgentID != gusID || ack.Seq != c.LastSeq {
			t.Fatalf("after the customer wrote: %s with %q (ack seq %d, last %d), want reopened with gus", c.Status, c.AgentID, ack.Seq, c.LastSeq)
		}
		if ev := systemEvents(allMessages(t, gus, conv.ID)); ev[len(ev)-1] != "reopened" {
			t.Fatalf("last system event %v, want reopened", ev)
		}
		// Over the WebSocket too: the send into the closed conversation reopens it and is acknowledged (the
		// transport's answer comes from the committer's callback, and this one from a second send after the
		// reopen).
		if _, err := gus.CloseConversation(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
		ws := n.Dial(cust, client.WebSocket, client.Options{})
		wsAck, err := ws.Send(ctx, conv.ID, "and another one")
		if err != nil {
			t.Fatalf("writing over the WebSocket within the reopen window: %v", err)
		}
		if c := convOf(t, cust, conv.ID); c.Status != "assigned" || wsAck.Seq != c.LastSeq {
			t.Fatalf("after the WebSocket send: %s (ack seq %d, last %d), want reopened", c.Status, wsAck.Seq, c.LastSeq)
		}
		if _, err := gus.CloseConversation(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
		clk.Add(11 * time.Minute)
		if _, err := ws.Send(ctx, conv.ID, "too late"); err == nil || !strings.Contains(err.Error(), string(chat.CodeClosed)) {
			t.Fatalf("a WebSocket message after the reopen window: %v, want %s", err, chat.CodeClosed)
		}
		if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), "too late", ""); err == nil {
			t.Fatal("a message after the reopen window was accepted")
		}
		if c := convOf(t, cust, conv.ID); c.Status != "closed" {
			t.Fatalf("after the window the conversation is %s", c.Status)
		}
	})
}

// Auto-close after inactivity, business hours, the maximum queue length and the maximum wait, with the clock
// injected.
func TestRoutingSiteLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		clk := newClock()
		n := apptest.Start(t, kind, apptest.Options{Now: clk.Now})
		ctx := context.Background()

		// Out of hours: a new customer is offered "leave a message" at once.
		setRouting(t, n, chat.RoutingSettings{BusinessHours: chat.BusinessHours{Enabled: true, TimeZone: "Asia/Shanghai"}})
		_, conv := customerConv(t, n, "night owl")
		if conv.Status != "pending" {
			t.Fatalf("out of hours: %s, want pending", conv.Status)
		}
		msgs := allMessages(t, n.Admin, conv.ID)
		if len(msgs) == 0 || !strings.Contains(string(msgs[len(msgs)-1].Meta), "out_of_hours") {
			t.Fatalf("no leave-a-message notice with the reason: %+v", msgs)
		}

		// Queue length 1: the second waiting customer leaves a message.
		setRouting(t, n, chat.RoutingSettings{MaxQueueLength: 1, MaxWaitS: 60})
		_, q1 := customerConv(t, n, "q1")
		_, q2 := customerConv(t, n, "q2")
		if q1.Status != "queued" || q2.Status != "pending" {
			t.Fatalf("with max queue length 1: %s and %s, want queued and pending", q1.Status, q2.Status)
		}
		// Waiting past the maximum wait: the first leaves a message too.
		clk.Add(61 * time.Second)
		if err := n.App.Router.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if c := convOf(t, n.Admin, q1.ID); c.Status != "pending" {
			t.Fatalf("past the maximum wait: %s, want pending", c.Status)
		}
		// A left message is picked up by an agent later.
		ivy, ivyID := routingAgent(t, n, "ivy", 3, false)
		goOnline(t, n, ivy)
		if c, err := ivy.PickUp(ctx, q1.ID); err != nil || c.AgentID != ivyID {
			t.Fatalf("pick up a left message: %+v %v", c, err)
		}

		// Auto-close after 2 minutes without a message. The sweep reads the open conversations every 1/60 of
		// the shortest auto-close time (2 s here), so a conversation closes at most 2 s late.
		setRouting(t, n, chat.RoutingSettings{AutoCloseAfterS: 120})
		sweepTo := func(d time.Duration, want string) {
			t.Helper()
			clk.Add(d)
			if err := n.App.Router.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			if c := convOf(t, n.Admin, q1.ID); c.Status != want {
				t.Fatalf("%s later: %s, want %s", d, c.Status, want)
			}
		}
		sweepTo(119*time.Second, "assigned")       // not yet idle; the sweep read the open conversations
		sweepTo(1500*time.Millisecond, "assigned") // idle 120.5 s, but the next read is due 2 s after the last
		sweepTo(600*time.Millisecond, "closed")    // 2.1 s after the last read: closed, 0.6 s late
		msgs = allMessages(t, n.Admin, q1.ID)
		if last := msgs[len(msgs)-1]; !strings.Contains(string(last.Meta), "inactive") {
			t.Fatalf("the close does not say why: %+v", last)
		}
		if a, _ := n.App.Store.Agent(ctx, ivyID); a.SlotsUsed != 0 {
			t.Fatalf("ivy holds %d slots after the auto-close", a.SlotsUsed)
		}
	})
}

// Hundreds of customers start conversations at once, on two nodes sharing one MariaDB (one node on SQLite),
// while agents come and go, accept, decline, let offers expire and close at random. A monitor checks at every
// step that no agent holds more than their capacity and that no conversation is held twice; after it settles,
// nothing waits while an eligible agent has a free slot, and every offer ended. The nodes are complete nodes in
// this process (own store pools, router, hub, HTTP server) sharing only the database; routing_process_test.go
// runs the same storm against two `parley serve` processes.
func TestRoutingConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		nodes := twoNodes(t, kind)
		setRouting(t, nodes[0], chat.RoutingSettings{OfferTimeoutS: 1})
		e := stormEnv{siteKey: nodes[0].SiteKey, teamID: nodes[0].TeamID, admin: nodes[0].Admin, db: nodes[0].App.Store.DB()}
		for _, nd := range nodes {
			e.urls = append(e.urls, nd.URL)
		}
		routingStorm(t, e)
	})
}

// stormEnv is where a routing storm runs: the nodes' URLs, the site and team, an admin, and the database.
type stormEnv struct {
	urls    []string
	siteKey string
	teamID  string
	admin   *client.API
	db      *sql.DB
}

func routingStorm(t *testing.T, e stormEnv) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type agentRun struct {
		api *client.API
		id  string
		cap int
	}
	var agents []agentRun
	for i := range 6 {
		name, capacity := fmt.Sprint("ag", i), 1+i%3
		var a struct {
			ID string `json:"id"`
		}
		if _, err := e.admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": name + "@example.com", "name": name,
			"password": apptest.Password, "role": chat.RoleAgent, "teams": []string{e.teamID}, "capacity": capacity, "auto_accept": i%2 == 0}, &a); err != nil {
			t.Fatalf("create agent %s: %v", name, err)
		}
		api := &client.API{BaseURL: e.urls[0]}
		if _, err := api.Login(ctx, name+"@example.com", apptest.Password); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, agentRun{api, a.ID, capacity})
	}
	capOf := map[string]int{}
	for _, a := range agents {
		capOf[a.id] = a.cap
	}
	var violations atomic.Int64
	var checks atomic.Int64
	check := func() {
		rows, err := e.db.QueryContext(context.Background(), `SELECT COALESCE(agent_id, ''), COALESCE(offered_to, ''), status FROM conversations WHERE status IN ('assigned', 'offered')`)
		if err != nil {
			return
		}
		defer rows.Close()
		held := map[string]int{}
		for rows.Next() {
			var agent, offered, status string
			if rows.Scan(&agent, &offered, &status) != nil {
				return
			}
			if status == "assigned" && (agent == "" || offered != "") || status == "offered" && (offered == "" || agent != "") {
				violations.Add(1)
				t.Errorf("conversation held inconsistently: status %s agent %q offered %q", status, agent, offered)
			}
			held[agent+offered]++
		}
		for id, nHeld := range held {
			if c, ok := capOf[id]; ok && nHeld > c {
				violations.Add(1)
				t.Errorf("agent %s holds %d conversations, capacity %d", id, nHeld, c)
			}
		}
		checks.Add(1)
	}
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		for ctx.Err() == nil {
			check()
			time.Sleep(5 * time.Millisecond)
		}
	}()

	type held struct {
		Conversations []client.Conversation `json:"conversations"`
	}
	var wg sync.WaitGroup
	// Agents: online on a random node, acting at random.
	for i, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			url := e.urls[rng.IntN(len(e.urls))]
			api := &client.API{BaseURL: url, Token: a.api.Token}
			ws, _, err := dialRaw(t, url, "", nil)
			if err != nil {
				t.Errorf("agent %s: %v", a.id, err)
				return
			}
			ws.send(protocol.ClientFrame{Type: protocol.TypeAuth, Token: a.api.Token})
			for step := 0; step < 60 && ctx.Err() == nil; step++ {
				time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
				var mine held
				if _, err := api.Do(ctx, http.MethodGet, "/api/v1/agents/me/conversations", nil, &mine); err != nil {
					continue
				}
				for _, c := range mine.Conversations {
					switch {
					case c.Status == "offered" && c.OfferedTo == a.id:
						switch rng.IntN(3) {
						case 0:
							_, _ = api.Accept(ctx, c.ID)
						case 1:
							_, _ = api.Decline(ctx, c.ID)
						} // else: let it expire
					case c.Status == "assigned" && c.AgentID == a.id && rng.IntN(3) == 0:
						_, _ = api.CloseConversation(ctx, c.ID)
					}
				}
				if rng.IntN(15) == 0 {
					_ = api.SetPresence(ctx, "away")
					time.Sleep(50 * time.Millisecond)
					_ = api.SetPresence(ctx, "online")
				}
			}
		}()
	}
	// Customers: hundreds at once, spread over the nodes.
	const customers = 200
	for i := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			api := &client.API{BaseURL: e.urls[i%len(e.urls)]}
			if _, err := api.StartVisitor(ctx, client.Visitor{SiteKey: e.siteKey, Name: fmt.Sprint("v", i)}); err != nil {
				t.Errorf("visitor: %v", err)
				return
			}
			if _, err := api.StartConversation(ctx, ""); err != nil {
				t.Errorf("start: %v", err)
			}
		}()
	}
	wg.Wait()
	// Settle: every agent online, offers accepted from now on; the queue must drain to full capacity.
	for _, a := range agents {
		_ = a.api.SetPresence(context.Background(), "online")
	}
	settle := time.Now().Add(30 * time.Second)
	for time.Now().Before(settle) {
		for _, a := range agents {
			var mine held
			if _, err := a.api.Do(context.Background(), http.MethodGet, "/api/v1/agents/me/conversations", nil, &mine); err == nil {
				for _, c := range mine.Conversations {
					if c.Status == "offered" && c.OfferedTo == a.id {
						_, _ = a.api.Accept(context.Background(), c.ID)
					}
				}
			}
		}
		if settled(t, e.db, capOf) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-monitorDone
	check()
	if !settled(t, e.db, capOf) {
		t.Fatal("after settling, conversations still wait while an agent has a free slot (or offers are pending)")
	}
	if violations.Load() > 0 || checks.Load() < 10 {
		t.Fatalf("%d violations in %d checks", violations.Load(), checks.Load())
	}
	// Every offer ended in a known way.
	rows, err := e.db.QueryContext(context.Background(), "SELECT outcome, count(*) FROM offers GROUP BY outcome")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	outcomes := map[string]int{}
	for rows.Next() {
		var o string
		var c int
		if err := rows.Scan(&o, &c); err != nil {
			t.Fatal(err)
		}
		outcomes[o] = c
	}
	for o := range outcomes {
		if o != "accepted" && o != "declined" && o != "expired" && o != "withdrawn" {
			t.Fatalf("offers ended %q: %v", o, outcomes)
		}
	}
	if outcomes["accepted"] == 0 || outcomes["declined"]+outcomes["expired"] == 0 {
		t.Fatalf("the run exercised too little: offers %v", outcomes)
	}
	t.Logf("offers %v, %d capacity checks", outcomes, checks.Load())
}

// settled reports that no offer is pending and no conversation is queued while one of the agents is online
// with a free slot, and that each agent's slot counter equals what they hold.
func settled(t testing.TB, db *sql.DB, capOf map[string]int) bool {
	ctx := context.Background()
	var offered, queued int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM conversations WHERE status = 'offered'").Scan(&offered); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM conversations WHERE status = 'queued'").Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if offered > 0 {
		return false
	}
	for id, c := range capOf {
		var slots, held int
		var presence string
		if err := db.QueryRowContext(ctx, "SELECT slots_used, presence FROM agents WHERE id = ?", id).Scan(&slots, &presence); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM conversations WHERE agent_id = ? AND status = 'assigned'", id).Scan(&held); err != nil {
			t.Fatal(err)
		}
		if held != slots {
			t.Fatalf("agent %s: slot counter %d, holds %d", id, slots, held)
		}
		if queued > 0 && presence == string(chat.PresenceOnline) && held < c {
			return false
		}
	}
	return true
}
