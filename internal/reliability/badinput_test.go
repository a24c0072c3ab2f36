package reliability

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/protocol"
)

// B1: a barrage of malformed frames gets the documented reactions — an error frame for a frame that can be
// answered, a close code for one that cannot — with no panic, and a control connection on the same node keeps
// receiving its conversation all along.
func TestB1MalformedFrames(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	cust, conv := customerConv(t, n, "control")
	h := newInbox()
	control := n.Dial(agent(t, n, "control"), client.WebSocket, client.Options{OnMessage: h.add})
	if err := control.Subscribe(conv.ID, 0); err != nil {
		t.Fatal(err)
	}
	sent := 0
	ping := func() {
		t.Helper()
		sent++
		if _, err := cust.PostMessage(context.Background(), conv.ID, client.NewID(), "still alive", ""); err != nil {
			t.Fatal(err)
		}
		h.waitFor(t, sent, 5*time.Second)
	}

	errorCases := []struct{ name, frame, code string }{
		{"garbage", "\x01\x02garbage", "invalid"},
		{"array", `[1,2,3]`, "invalid"},
		{"truncated", `{"type":"send","body":"x`, "invalid"},
		{"unknown type", `{"type":"explode"}`, "invalid"},
		{"missing fields", `{"type":"send"}`, "invalid"},
		{"wrong types", `{"type":1,"data":1}`, "invalid"},
		{"unknown field", `{"type":"ping","sender_type":"agent"}`, "invalid"},
		{"huge number", `{"type":"subscribe","subscriptions":[{"conversation_id":"` + conv.ID + `","last_seq":1e40}]}`, "invalid"},
		{"negative number", `{"type":"read","conversation_id":"` + conv.ID + `","seq":-1}`, "invalid"},
		{"deep nesting", strings.Repeat("[", 5000) + strings.Repeat("]", 5000), "invalid"},
		{"send to nothing", `{"type":"send","conversation_id":"00000000-0000-0000-0000-000000000000","client_msg_id":"k","body":"x"}`, "not_found"},
		{"already authenticated", `{"type":"auth","token":"` + cust.Token + `"}`, "conflict"},
	}
	ws := authed(t, n.URL, cust.Token)
	for _, c := range errorCases {
		ws.write([]byte(c.frame))
		f := ws.until(5*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeError })
		if f.Code != c.code {
			t.Errorf("%s: error code %q, want %q (%+v)", c.name, f.Code, c.code, f)
		}
		// A good frame still works on the same connection.
		ws.send(protocol.ClientFrame{Type: protocol.TypePing, ID: c.name})
		ws.until(5*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypePong && f.Ref == c.name })
	}
	ping()

	// Subscribing twice to one conversation is allowed: the second resume answers like the first.
	ws.send(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{{ConversationID: conv.ID}}})
	ws.send(protocol.ClientFrame{Type: protocol.TypeSubscribe, Subscriptions: []protocol.Cursor{{ConversationID: conv.ID}}})
	for i := 0; i < 2; i++ {
		if f := ws.until(5*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeResumed }); f.Recovered == nil || !*f.Recovered {
			t.Fatalf("resumed = %+v", f)
		}
	}

	// One frame naming it twice, with a cursor the customer may not follow between: the heads of a frame are
	// read together, yet each good cursor is answered as in a frame of its own and the bad one with not_found.
	ws.send(protocol.ClientFrame{Type: protocol.TypeSubscribe, ID: "twice", Subscriptions: []protocol.Cursor{
		{ConversationID: conv.ID}, {ConversationID: "no-such-conversation"}, {ConversationID: conv.ID}}})
	resumed, notFound := 0, 0
	for resumed < 2 || notFound < 1 {
		f := ws.until(5*time.Second, func(f protocol.ServerFrame) bool {
			return f.Ref == "twice" && (f.Type == protocol.TypeResumed || f.Type == protocol.TypeError)
		})
		switch {
		case f.Type == protocol.TypeResumed && f.ConversationID == conv.ID && f.Recovered != nil && *f.Recovered:
			resumed++
		case f.Type == protocol.TypeError && f.Code == "not_found" && f.ConversationID == "no-such-conversation":
			notFound++
		default:
			t.Fatalf("unexpected answer to the frame: %+v", f)
		}
	}
	ping()

	closeCases := []struct {
		name string
		do   func(ws *rawWS)
		code int
	}{
		{"binary frame", func(ws *rawWS) { ws.c.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`)) }, protocol.CloseUnsupported},
		{"invalid UTF-8", func(ws *rawWS) { ws.write([]byte("{\"type\":\"ping\",\"id\":\"\xff\xfe\"}")) }, protocol.CloseInvalidUTF8},
		{"too big", func(ws *rawWS) {
			ws.write([]byte(`{"type":"ping","id":"` + strings.Repeat("a", protocol.MaxFrameBytes) + `"}`))
		}, protocol.CloseTooBig},
		{"ten malformed in a row", func(ws *rawWS) {
			for i := 0; i < 10; i++ {
				ws.write([]byte("nope"))
			}
		}, protocol.CloseTooManyErrors},
	}
	for _, c := range closeCases {
		ws := authed(t, n.URL, cust.Token)
		c.do(ws)
		if got := ws.closeCode(5 * time.Second); got != c.code {
			t.Errorf("%s: close code %d, want %d", c.name, got, c.code)
		}
		ping()
	}

	// Before authentication: anything but auth is refused and the connection closed.
	pre, _, err := dialRaw(t, n.URL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pre.send(protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conv.ID, ClientMsgID: "x", Body: "sneaky"})
	if f := pre.next(5 * time.Second); f.Code != "unauthorized" {
		t.Fatalf("frame before auth: %+v", f)
	}
	if code := pre.closeCode(5 * time.Second); code != protocol.CloseUnauthorized {
		t.Fatalf("close code %d, want %d", code, protocol.CloseUnauthorized)
	}
	// A wrong token: the same.
	bad, _, _ := dialRaw(t, n.URL, "", nil)
	bad.send(protocol.ClientFrame{Type: protocol.TypeAuth, Token: "pv_" + strings.Repeat("A", 26)})
	if code := bad.closeCode(5 * time.Second); code != protocol.CloseUnauthorized {
		t.Fatalf("bad token: close code %d", code)
	}
	ping()
	if strings.Contains(n.Logs.String(), "panic") {
		t.Fatalf("the server logged a panic:\n%s", n.Logs.String())
	}
	msgs := allMessages(t, n.Admin, conv.ID)
	if len(msgs) != sent {
		t.Fatalf("%d messages stored, want only the %d good ones", len(msgs), sent)
	}
}

// B2, B3: oversized and invalid input is refused before anything is stored, over WebSocket and REST.
func TestB2B3OversizedAndInvalidText(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	cust, conv := customerConv(t, n, "limits")
	ws := authed(t, n.URL, cust.Token)
	long := strings.Repeat("字", 4001) // 4001 characters, 12003 bytes: fits a frame, too long a message
	ws.send(protocol.ClientFrame{Type: protocol.TypeSend, ConversationID: conv.ID, ClientMsgID: "long", Body: long})
	if f := ws.until(5*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeError }); f.Code != "too_large" || f.ClientMsgID != "long" {
		t.Fatalf("long body over WebSocket: %+v", f)
	}
	if _, err := cust.PostMessage(context.Background(), conv.ID, "long2", long, ""); client.Code(err) != "too_large" {
		t.Fatalf("long body over REST: %v", err)
	}
	exact := strings.Repeat("字", 4000)
	if _, err := cust.PostMessage(context.Background(), conv.ID, "exact", exact, ""); err != nil {
		t.Fatalf("a 4000-character message must be accepted: %v", err)
	}
	// Invalid UTF-8 and a lone surrogate inside JSON, through REST.
	for name, body := range map[string]string{
		"invalid utf-8":   "{\"body\":\"bad \xff byte\"}",
		"lone surrogate":  `{"body":"half \ud800 a pair"}`,
		"reversed pair":   `{"body":"\udc00\ud800"}`,
		"not json at all": `body=hello`,
	} {
		req, _ := http.NewRequest(http.MethodPost, n.URL+"/api/v1/conversations/"+conv.ID+"/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+cust.Token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "k-"+strings.ReplaceAll(name, " ", "-"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
	// A lone surrogate through the WebSocket.
	ws.write([]byte(`{"type":"send","conversation_id":"` + conv.ID + `","client_msg_id":"sur","body":"\ud800"}`))
	if f := ws.until(5*time.Second, func(f protocol.ServerFrame) bool { return f.Type == protocol.TypeError }); f.Code != "invalid" {
		t.Fatalf("lone surrogate over WebSocket: %+v", f)
	}
	msgs := allMessages(t, n.Admin, conv.ID)
	if len(msgs) != 1 || msgs[0].Body != exact {
		t.Fatalf("stored %d messages, want only the valid one", len(msgs))
	}
}

// B7: every script, emoji and edge of Unicode round-trips byte for byte on both databases.
func TestB7UnicodeRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-customer-msg-rate", "1000", "-customer-msg-burst", "1000"}})
		cust, conv := customerConv(t, n, "unicode")
		bodies := []string{
			"emoji 😀👍🏽🇨🇳 and a 4-byte CJK 𠀀𪚥",
			"family 👨‍👩‍👧‍👦 (zero-width joiners)",
			"RTL override \u202eevil\u202c and Arabic مرحبا and Hebrew שלום",
			"NUL in the middle: a\x00b",
			"combining: e\u0301 vs \u00e9, Z\u0351\u0352\u0353",
			"zero width: a\u200bb\ufeffc",
			strings.Repeat("长", 4000),
			strings.Repeat("😀", 4000),
			"tabs\tand\nnewlines\r\n",
			"SQL '; DROP TABLE messages; -- and \\ backslashes \\\\",
		}
		for i, b := range bodies {
			if _, err := cust.PostMessage(context.Background(), conv.ID, client.NewID(), b, ""); err != nil {
				t.Fatalf("body %d: %v", i, err)
			}
		}
		msgs := allMessages(t, n.Admin, conv.ID)
		if len(msgs) != len(bodies) {
			t.Fatalf("%d stored, want %d", len(msgs), len(bodies))
		}
		for i, m := range msgs {
			if m.Body != bodies[i] {
				t.Errorf("body %d changed: %q -> %q", i, bodies[i][:min(len(bodies[i]), 40)], m.Body[:min(len(m.Body), 40)])
			}
		}
	})
}
