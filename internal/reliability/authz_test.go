package reliability

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/protocol"
)

// Z1: customer A reaches customer B's conversation through no path, whatever the shape of the id; an agent of
// another team neither. Every refusal looks exactly like a conversation that does not exist.
func TestZ1NoAccessToOthersConversations(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	custA, convA := customerConv(t, n, "A")
	custB, convB := customerConv(t, n, "B")
	if _, err := custB.PostMessage(ctx, convB.ID, client.NewID(), "B's secret", ""); err != nil {
		t.Fatal(err)
	}
	// An agent of another team.
	var team struct{ ID string }
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/teams", map[string]string{"name": "Billing"}, &team); err != nil {
		t.Fatal(err)
	}
	outsider := &client.API{BaseURL: n.URL}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": "out@example.com", "password": apptest.Password,
		"role": "agent", "teams": []string{team.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := outsider.Login(ctx, "out@example.com", apptest.Password); err != nil {
		t.Fatal(err)
	}

	ids := []string{convB.ID, "00000000-0000-0000-0000-000000000000", strings.ToUpper(convB.ID), "0", "null",
		`{"$regex":".*"}`, "[]", convB.ID + "x", "../" + convB.ID, convB.ID[:35]}
	for who, api := range map[string]*client.API{"customer A": custA, "other team's agent": outsider} {
		for _, id := range ids {
			p := "/api/v1/conversations/" + url.PathEscape(id)
			for _, call := range []struct{ method, path string }{
				{http.MethodGet, p}, {http.MethodGet, p + "/messages"}, {http.MethodGet, p + "/messages?after=0"},
				{http.MethodPost, p + "/read"}, {http.MethodPost, p + "/typing"}, {http.MethodPost, p + "/close"},
				{http.MethodPost, p + "/messages"},
			} {
				var body any
				switch {
				case strings.HasSuffix(call.path, "/read"):
					body = map[string]int{"seq": 1}
				case strings.HasSuffix(call.path, "/messages") && call.method == http.MethodPost:
					body = map[string]string{"body": "intrusion"}
				}
				status, err := api.Do(ctx, call.method, call.path, body, nil, "Idempotency-Key", client.NewID())
				if status != http.StatusNotFound || client.Code(err) != "not_found" {
					t.Errorf("%s %s %s: status %d err %v, want 404 not_found", who, call.method, call.path, status, err)
				}
			}
			status, err := api.Do(ctx, http.MethodGet, "/api/v1/poll?timeout=0&cursor="+url.QueryEscape(id+":0"), nil, nil)
			if status != http.StatusNotFound && !(status == http.StatusBadRequest && !strings.Contains(id, "-")) {
				t.Errorf("%s poll %q: status %d err %v", who, id, status, err)
			}
		}
		if who == "customer A" {
			// B's conversation beside A's own in one poll: the whole poll is refused, A's own cursor with it.
			for _, cur := range []string{convA.ID + ":0," + convB.ID + ":0", convB.ID + ":0," + convA.ID + ":0"} {
				status, err := api.Do(ctx, http.MethodGet, "/api/v1/poll?timeout=0&cursor="+url.QueryEscape(cur), nil, nil)
				if status != http.StatusNotFound || client.Code(err) != "not_found" {
					t.Errorf("customer A poll %q: status %d err %v, want 404 not_found", cur, status, err)
				}
			}
			if status, err := api.Do(ctx, http.MethodGet, "/api/v1/poll?timeout=0&cursor="+url.QueryEscape(convA.ID+":0"), nil, nil); status != http.StatusOK {
				t.Errorf("customer A poll of A's own conversation: status %d err %v", status, err)
			}
		}
		// Over the WebSocket: subscribe, resume, send, read, typing.
		ws := authed(t, n.URL, api.Token)
		for _, f := range []protocol.ClientFrame{
			{Type: protocol.TypeSubscribe, ID: "s", Subscriptions: []protocol.Cursor{{ConversationID: convB.ID}}},
			{Type: protocol.TypeSubscribe, ID: "r", Subscriptions: []protocol.Cursor{{ConversationID: convB.ID, LastSeq: 0, Epoch: n.App.Store.Epoch()}}},
			{Type: protocol.TypeSend, ID: "w", ConversationID: convB.ID, ClientMsgID: "intrude", Body: "hello B"},
			{Type: protocol.TypeRead, ID: "m", ConversationID: convB.ID, Seq: 1},
			{Type: protocol.TypeTyping, ID: "t", ConversationID: convB.ID},
		} {
			ws.send(f)
			got := ws.until(5*time.Second, func(g protocol.ServerFrame) bool {
				return g.Type == protocol.TypeError || g.Type == protocol.TypeMessage
			})
			if got.Type != protocol.TypeError || got.Code != "not_found" {
				t.Errorf("%s WebSocket %s: %+v, want a not_found error", who, f.Type, got)
			}
		}
		// Subscribing to a team stream of another team.
		ws.send(protocol.ClientFrame{Type: protocol.TypeSubscribe, ID: "ts", Subscriptions: []protocol.Cursor{{Stream: chat.TeamStream(n.TeamID)}}})
		if got := ws.until(5*time.Second, func(g protocol.ServerFrame) bool {
			return g.Type == protocol.TypeError || g.Type == protocol.TypeResumed
		}); got.Code != "not_found" {
			t.Errorf("%s subscribe to another team's stream: %+v", who, got)
		}
		// Nothing of B's conversation ever reaches this connection.
		if _, err := custB.PostMessage(ctx, convB.ID, client.NewID(), "more secrets", ""); err != nil {
			t.Fatal(err)
		}
		ws.send(protocol.ClientFrame{Type: protocol.TypePing, ID: "end"})
		for {
			f := ws.next(5 * time.Second)
			if f.Type == protocol.TypePong {
				break
			}
			if f.Type == protocol.TypeMessage {
				t.Fatalf("%s received a message of B's conversation: %+v", who, f)
			}
		}
	}
	// B's conversation is untouched; A's own works.
	msgs := allMessages(t, n.Admin, convB.ID)
	if len(msgs) != 3 {
		t.Fatalf("B's conversation holds %d messages, want B's 3", len(msgs))
	}
	for _, m := range msgs {
		if m.SenderID != convB.CustomerID {
			t.Fatalf("a foreign message got into B's conversation: %+v", m)
		}
	}
	if _, err := custA.PostMessage(ctx, convA.ID, client.NewID(), "mine", ""); err != nil {
		t.Fatal(err)
	}
}

// Z2: the sender is always the credential's principal; fields that try to name another are refused.
func TestZ2NoImpersonation(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	cust, conv := customerConv(t, n, "honest")
	for _, body := range []map[string]any{
		{"body": "hi", "sender_type": "agent"},
		{"body": "hi", "sender_id": "someone"},
		{"body": "hi", "from_id": "agent-1"},
		{"body": "hi", "msg_type": "system"},
		{"body": "hi", "msg_type": "note"},
	} {
		status, err := cust.Do(ctx, http.MethodPost, "/api/v1/conversations/"+conv.ID+"/messages", body, nil, "Idempotency-Key", client.NewID())
		if status != http.StatusBadRequest {
			t.Errorf("REST %v: status %d (%v), want 400", body, status, err)
		}
	}
	ws := authed(t, n.URL, cust.Token)
	ws.write([]byte(`{"type":"send","conversation_id":"` + conv.ID + `","client_msg_id":"x","body":"hi","sender_type":"agent"}`))
	if f := ws.until(5*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeError }); f.Code != "invalid" {
		t.Fatalf("WebSocket frame with sender_type: %+v", f)
	}
	if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), "really me", ""); err != nil {
		t.Fatal(err)
	}
	msgs := allMessages(t, n.Admin, conv.ID)
	if len(msgs) != 1 || msgs[0].SenderType != "customer" || msgs[0].SenderID != conv.CustomerID {
		t.Fatalf("stored %+v", msgs)
	}
}

// Z5: visitor tokens carry at least 128 random bits, never appear in logs, and a second connection with the
// same token does not evict the first.
func TestZ5VisitorTokens(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		api := n.Customer("t")
		tok := strings.TrimPrefix(api.Token, "pv_")
		// crypto/rand.Text: 26 characters of base32 = 130 bits.
		if len(tok) < 26 || strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" || seen[tok] {
			t.Fatalf("token %q is not 26+ random base32 characters", api.Token)
		}
		seen[tok] = true
	}
	cust, conv := customerConv(t, n, "twice")
	in1, in2 := newInbox(), newInbox()
	c1 := n.Dial(cust, client.WebSocket, client.Options{OnMessage: in1.add})
	c2 := n.Dial(cust, client.LongPoll, client.Options{OnMessage: in2.add})
	c3 := n.Dial(cust, client.WebSocket, client.Options{OnMessage: in2.add})
	for _, c := range []*client.Client{c1, c2, c3} {
		if err := c.Subscribe(conv.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c1.Send(ctx, conv.ID, "seen everywhere"); err != nil {
		t.Fatal(err)
	}
	in1.waitFor(t, 1, 5*time.Second)
	in2.waitFor(t, 2, 5*time.Second)
	for _, tok := range []string{cust.Token, n.Admin.Token} {
		if strings.Contains(n.Logs.String(), tok) || strings.Contains(n.Logs.String(), strings.TrimPrefix(tok, "pv_")) {
			t.Fatalf("a token appears in the logs")
		}
	}
	// The same visitor token keeps working after it resumes the session (no silent rotation breaks tabs).
	again := &client.API{BaseURL: n.URL}
	vs, err := again.StartVisitor(ctx, client.Visitor{SiteKey: n.SiteKey, Token: cust.Token})
	if err != nil || vs.Token != cust.Token || vs.Customer.ID != conv.CustomerID {
		t.Fatalf("resume with the kept token: %+v, %v", vs, err)
	}
}

// Z6: cross-site WebSocket hijacking and CSRF are refused: the console's socket only from its own origin, the
// widget's only from the site's allowed origins, cookie-authenticated writes need the CSRF header, and CORS
// never says yes to a foreign origin.
func TestZ6OriginsAndCSRF(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	cookie := http.Header{"Cookie": {"parley_session=" + n.Admin.Token}}
	withOrigin := func(o string) http.Header {
		h := cookie.Clone()
		if o != "" {
			h.Set("Origin", o)
		}
		return h
	}
	for _, o := range []string{"https://evil.example", "null", "http://127.0.0.1:1"} {
		if _, resp, err := dialRaw(t, n.URL, "", withOrigin(o)); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("console socket from origin %q: err %v, want 403", o, err)
		}
	}
	// From the console's own origin the cookie authenticates.
	ws, _, err := dialRaw(t, n.URL, "", withOrigin(n.URL))
	if err != nil {
		t.Fatal(err)
	}
	if f := ws.next(5 * time.Second); f.Type != protocol.TypeHello || f.Principal == nil || f.Principal.Kind != "agent" {
		t.Fatalf("console socket: %+v", f)
	}
	// Without an Origin the cookie is not used: the client must authenticate with a frame.
	noOrigin, _, err := dialRaw(t, n.URL, "", cookie)
	if err != nil {
		t.Fatal(err)
	}
	noOrigin.send(protocol.ClientFrame{Type: protocol.TypePing})
	if code := noOrigin.closeCode(5 * time.Second); code != protocol.CloseUnauthorized {
		t.Fatalf("cookie without Origin: close %d, want %d", code, protocol.CloseUnauthorized)
	}
	// The widget's socket: only from the site's allowed origins.
	if _, resp, err := dialRaw(t, n.URL, "site="+n.SiteKey, http.Header{"Origin": {"https://evil.example"}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("widget socket from a foreign origin: %v", err)
	}
	if _, _, err := dialRaw(t, n.URL, "site="+n.SiteKey, http.Header{"Origin": {n.URL}}); err != nil {
		t.Errorf("widget socket from an allowed origin: %v", err)
	}
	// A visitor token from a browser must come through its site.
	cust := n.Customer("x")
	site, _, err := dialRaw(t, n.URL, "", http.Header{"Origin": {n.URL}})
	if err != nil {
		t.Fatal(err)
	}
	site.send(protocol.ClientFrame{Type: protocol.TypeAuth, Token: cust.Token})
	if code := site.closeCode(5 * time.Second); code != protocol.CloseUnauthorized {
		t.Fatalf("visitor token without ?site= from a browser: close %d", code)
	}

	// CSRF: a cookie-authenticated state change without the header, or from another origin, is refused.
	post := func(h http.Header) int {
		req, _ := http.NewRequest(http.MethodPost, n.URL+"/api/v1/teams", strings.NewReader(`{"name":"x"}`))
		req.Header = h
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(cookie.Clone()); s != http.StatusForbidden {
		t.Errorf("cookie POST without CSRF header: %d", s)
	}
	if s := post(withOrigin("https://evil.example")); s != http.StatusForbidden {
		t.Errorf("cookie POST from a foreign origin: %d", s)
	}
	// CORS: a preflight from a foreign origin gets no permission; from an allowed site origin it does.
	for o, want := range map[string]bool{"https://evil.example": false, n.URL: true} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, n.URL+"/api/v1/conversations", nil)
		req.Header.Set("Origin", o)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if (got == o) != want || got == "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight from %s: ACAO %q ACAC %q", o, got, resp.Header.Get("Access-Control-Allow-Credentials"))
		}
	}
	// A customer request from a foreign origin is refused even with a valid token.
	foreign := &client.API{BaseURL: n.URL, Token: cust.Token, Origin: "https://evil.example"}
	if _, err := foreign.StartConversation(ctx, ""); client.Code(err) != "origin_refused" {
		t.Fatalf("customer request from a foreign origin: %v", err)
	}
}
