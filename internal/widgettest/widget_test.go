package widgettest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/protocol"
)

// env is what the widget tests share: one Parley node, one host page on another origin, one browser.
type env struct {
	node    *apptest.Node
	host    *hostPage
	browser context.Context
	agent   *client.API
}

func setup(t *testing.T) *env {
	t.Helper()
	n := apptest.Start(t, "sqlite", apptest.Options{Args: []string{"-customer-msg-burst", "100"}})
	host := startHost(t, n.URL, n.SiteKey)
	ctx := context.Background()
	site, err := n.App.Store.SiteByKey(ctx, n.SiteKey)
	if err != nil {
		t.Fatal(err)
	}
	// The host page's origin must be allowed for the site (Parley's own origin is there for /chat/{site}).
	site.AllowedOrigins = []string{originOf(n.URL), host.Origin}
	site.Settings = chat.SiteSettings{Color: "#0f766e", Greeting: "Welcome to Parley Shop! How can we help?", Position: "right",
		PreChat: chat.PreChat{Enabled: true, Fields: []chat.PreChatField{{Name: "name", Required: true}, {Name: "email"}},
			Departments: []chat.Department{{TeamID: n.TeamID, Name: "Orders 订单"}}}}
	if err := n.App.Store.UpdateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	return &env{node: n, host: host, browser: testenv.Browser(t, "window-size", "1280,860"), agent: n.Agent("li@example.com", chat.RoleAgent)}
}

func originOf(u string) string {
	p, _ := url.Parse(u)
	return p.Scheme + "://" + p.Host
}

// agentSide is the agent, driven through the Go client: what it received, and helpers to act.
type agentSide struct {
	t  *testing.T
	c  *client.Client
	mu sync.Mutex
	ms []protocol.Message
}

func (e *env) dialAgent(t *testing.T) *agentSide {
	a := &agentSide{t: t}
	a.c = e.node.Dial(e.agent, client.WebSocket, client.Options{OnMessage: func(m protocol.Message) {
		a.mu.Lock()
		a.ms = append(a.ms, m)
		a.mu.Unlock()
	}})
	return a
}

// waitMessage waits until the agent has received a message whose body contains s, and returns it.
func (a *agentSide) waitMessage(s string) protocol.Message {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		for _, m := range a.ms {
			if strings.Contains(m.Body, s) {
				a.mu.Unlock()
				return m
			}
		}
		a.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("the agent never received %q", s)
	return protocol.Message{}
}

func (a *agentSide) send(conv, body string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := a.c.Send(ctx, conv, body); err != nil {
		a.t.Fatalf("agent send: %v", err)
	}
}

// conversationOf reads the conversation the widget follows from what it keeps in the page's localStorage.
func (tb *tab) conversationOf(siteKey string) string {
	tb.t.Helper()
	var id string
	deadline := time.Now().Add(15 * time.Second)
	for id == "" && time.Now().Before(deadline) {
		tb.page(`(JSON.parse(localStorage.getItem("parley:v1:`+siteKey+`") || "{}").conv || "")`, &id)
		if id == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if id == "" {
		tb.t.Fatal("the widget started no conversation")
	}
	return id
}

// openWidget loads the host page, opens the widget with its launcher and fills in the pre-chat form.
func (e *env) openWidget(t *testing.T, tb *tab, name string) {
	t.Helper()
	tb.navigate(e.host.srv.URL + "/")
	tb.attach("parley-widget")
	tb.click(".launcher")
	tb.waitFor("the pre-chat form", `function(){ return !!this.querySelector("form.prechat input[name=name]"); }`)
	tb.fill("input[name=name]", name)
	tb.fill("input[name=email]", "customer@example.com")
	tb.click("form.prechat button[type=submit]")
	tb.waitFor("the chat", `function(){ const c = this.querySelector("form.composer"); return !!c && !c.hidden && !!this.querySelector(".log"); }`)
}

// history returns the bodies of the conversation's messages in seq order, as the server stores them.
func (e *env) history(t *testing.T, conv string) []protocol.Message {
	t.Helper()
	page, err := e.agent.After(context.Background(), conv, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

func pngFile(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for x := 0; x < 120; x++ {
		for y := 0; y < 80; y++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 2), G: 120, B: uint8(y * 3), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "receipt.png")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWidget(t *testing.T) {
	e := setup(t)

	t.Run("conversation", func(t *testing.T) {
		tb := newTab(t, e.browser, nil)
		e.openWidget(t, tb, "Zoë Customer")
		conv := tb.conversationOf(e.node.SiteKey)
		tb.waitText("Welcome to Parley Shop! How can we help?")
		// Nobody is online yet: the customer waits in the queue and sees their place, pushed by the router.
		tb.waitFor("the queue position", `function(){ const b = this.querySelector(".banner");
			return !!b && !b.hidden && b.textContent === "You are number 1 in the queue"; }`)
		if sub := tb.text(".sub"); sub != "Waiting for an agent…" {
			t.Errorf("header subtitle while queued %q", sub)
		}
		// The agent comes online: the router offers them the conversation, they accept, the customer sees them join.
		agent := e.dialAgent(t)
		if err := agent.c.Subscribe(conv, 0); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			c, err := e.agent.Conversation(context.Background(), conv)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status == "offered" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the conversation was not offered to the agent who came online: %s", c.Status)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := e.agent.Accept(context.Background(), conv); err != nil {
			t.Fatal(err)
		}
		tb.waitText("li joined the conversation")
		tb.waitFor("the queue banner to go", `function(){ return this.querySelector(".banner").hidden && this.querySelector(".sub").textContent === "li"; }`)

		// The customer writes; the agent receives it; the widget shows it sent, then read.
		tb.click("textarea")
		tb.typeText("Hello, my order 1042 is late")
		tb.enter()
		got := agent.waitMessage("my order 1042 is late")
		if got.SenderType != "customer" || got.SenderName != "Zoë Customer" {
			t.Fatalf("the agent got %+v", got)
		}
		tb.waitFor("the message to show as sent", `function(){ const s = [...this.querySelectorAll("li.me .state")]; return s.length === 1 && s[0].textContent === "Sent"; }`)
		if err := agent.c.MarkRead(conv, got.Seq); err != nil {
			t.Fatal(err)
		}
		tb.waitFor("the message to show as read", `function(){ const s = this.querySelector("li.me .state"); return !!s && s.textContent === "Read"; }`)

		// The agent types, then answers with a link; the widget shows who is typing, then the message.
		if err := agent.c.Typing(conv); err != nil {
			t.Fatal(err)
		}
		tb.waitFor("the typing indicator", `function(){ return this.querySelector(".typing").textContent === "li is typing…"; }`)
		agent.send(conv, "Sorry! Track it at https://example.com/track?id=1042. It ships today.")
		tb.waitText("It ships today.")
		var link struct{ Href, Rel, Target, Text string }
		tb.in(`function(){ const a = this.querySelector("li.them .bubble a"); return a && {Href: a.href, Rel: a.rel, Target: a.target, Text: a.textContent}; }`, &link)
		if link.Href != "https://example.com/track?id=1042" || link.Rel != "noopener noreferrer nofollow ugc" || link.Target != "_blank" {
			t.Fatalf("link %+v", link)
		}
		if sub := tb.text(".sub"); sub != "li" {
			t.Errorf("header subtitle %q, want the agent's name", sub)
		}
		tb.waitFor("the typing indicator to go", `function(){ return this.querySelector(".typing").textContent === ""; }`)

		// An image: chosen in the file dialog, uploaded, shown inline (fetched with the visitor token).
		tb.setFile("input[type=file]", pngFile(t))
		img := agent.waitMessage("receipt.png")
		if img.Type != "image" {
			t.Fatalf("upload arrived as %+v", img)
		}
		tb.waitFor("the image inline", `function(){ const i = this.querySelector("li.me img"); return !!i && i.complete && i.naturalWidth === 120 && i.src.startsWith("blob:"); }`)

		// The site's look: the accent colour on the launcher and the header.
		var bg string
		tb.in(`function(){ return getComputedStyle(this.querySelector("header")).backgroundColor; }`, &bg)
		if bg != "rgb(15, 118, 110)" {
			t.Errorf("header colour %s", bg)
		}
		tb.screenshot("widget-en-desktop")

		// Keyboard: Escape closes the panel and gives focus back to the launcher. A message that arrives
		// meanwhile shows as a badge on the launcher; Enter opens the panel again, which reads it.
		tb.key("\x1b")
		tb.waitFor("the panel to close", `function(){ return this.querySelector(".panel").hidden && this.activeElement === this.querySelector(".launcher"); }`)
		agent.send(conv, "Anything else I can do?")
		tb.waitFor("the unread badge", `function(){ const b = this.querySelector(".launcher .badge"); return !!b && !b.hidden && b.textContent === "1" &&
			this.querySelector(".launcher").getAttribute("aria-label") === "Chat with us (1 new message)"; }`)
		tb.enter()
		tb.waitFor("the panel to open with the composer focused", `function(){ return !this.querySelector(".panel").hidden && this.activeElement === this.querySelector("textarea"); }`)
		tb.waitFor("the badge to go", `function(){ return this.querySelector(".launcher .badge").hidden; }`)
		if cr, _, err := e.node.App.Store.ReadCursors(context.Background(), conv); err != nil || cr < 4 {
			t.Errorf("the customer's read cursor is %d (%v) after reading everything", cr, err)
		}

		// The host page sees the widget element but nothing inside it.
		var leak struct {
			Shadow bool
			Text   bool
		}
		tb.page(`({Shadow: document.querySelector("parley-widget").shadowRoot !== null,
			Text: document.documentElement.outerHTML.includes("order 1042") || document.body.innerText.includes("order 1042")})`, &leak)
		if leak.Shadow || leak.Text {
			t.Fatalf("the host page can read the conversation: %+v", leak)
		}

		// The agent closes the conversation: the widget says so and asks for a rating.
		if _, err := e.agent.CloseConversation(context.Background(), conv); err != nil {
			t.Fatal(err)
		}
		tb.waitText("li closed the conversation")
		tb.waitText("How was your conversation?")
		tb.click(`.stars button[data-score="4"]`)
		tb.fill(".card textarea", "Quick and friendly")
		tb.screenshot("widget-en-rating")
		tb.click(".card .btn")
		tb.waitText("Thank you for your feedback!")
		r, err := e.node.App.Store.Rating(context.Background(), conv)
		if err != nil || r.Score != 4 || r.Comment != "Quick and friendly" {
			t.Fatalf("stored rating %+v, %v", r, err)
		}

		// The transcript downloads as a text file, in the customer's language and time zone.
		dir := t.TempDir()
		tb.allowDownloads(dir)
		tb.click(`header button[aria-label="Download transcript"]`)
		transcript := waitFile(t, dir, "chat-")
		for _, want := range []string{"You: Hello, my order 1042 is late", "li: Sorry! Track it at", "[file: receipt.png,"} {
			if !strings.Contains(transcript, want) {
				t.Errorf("transcript lacks %q:\n%s", want, transcript)
			}
		}

		// A reload restores everything: the panel open, the history, the image, the close and the thanks.
		tb.reload()
		tb.attach("parley-widget")
		tb.waitText("It ships today.")
		tb.waitText("Thank you for your feedback!")
		tb.waitFor("the image after the reload", `function(){ const i = this.querySelector("li.me img"); return !!i && i.naturalWidth === 120; }`)
		var focusKept bool
		tb.page(`document.activeElement === document.body`, &focusKept)
		if !focusKept {
			t.Error("the panel reopening after the reload took the focus from the host page")
		}
		text := tb.panelText()
		for _, want := range []string{"Hello, my order 1042 is late", "li closed the conversation", "Welcome to Parley Shop!"} {
			if !strings.Contains(text, want) {
				t.Errorf("after the reload the panel lacks %q:\n%s", want, text)
			}
		}
		var states []string
		tb.in(`function(){ return [...this.querySelectorAll("li.me .state")].map(s => s.textContent); }`, &states)
		if len(states) != 2 || states[0] != "Read" {
			t.Errorf("states after the reload: %q", states)
		}
	})

	t.Run("offline and a second tab", func(t *testing.T) {
		tb := newTab(t, e.browser, nil)
		e.openWidget(t, tb, "Olga Offline")
		conv := tb.conversationOf(e.node.SiteKey)
		tb.click("textarea")
		tb.typeText("before the tunnel")
		tb.enter()
		tb.waitFor("the first message sent", `function(){ const s = this.querySelector("li.me .state"); return !!s && s.textContent === "Sent"; }`)

		// In the tunnel: three messages typed offline stay on the page and in localStorage, unsent.
		tb.offline(true)
		tb.waitText("You are offline")
		for i := 1; i <= 3; i++ {
			tb.typeText(fmt.Sprintf("offline message %d", i))
			tb.enter()
		}
		tb.waitFor("three messages waiting", `function(){ return [...this.querySelectorAll("li.me .state")].filter(s => s.textContent === "Sending…").length === 3; }`)
		outbox := func() int {
			var n int
			tb.page(`(JSON.parse(localStorage.getItem("parley:v1:`+e.node.SiteKey+`")).outbox || []).length`, &n)
			return n
		}
		if n := outbox(); n != 3 {
			t.Fatalf("%d messages in the stored outbox, want 3", n)
		}
		time.Sleep(time.Second)
		if h := e.history(t, conv); len(h) != 1 {
			t.Fatalf("while offline the server got %d messages", len(h))
		}
		tb.screenshot("widget-en-offline")

		// The agent writes while the customer is away; the widget resumes from its cursor and shows it once.
		agent := e.dialAgent(t)
		agent.c.Subscribe(conv, 0)
		agent.send(conv, "Are you in a tunnel?")

		// Out of the tunnel: each is delivered exactly once, in the order typed.
		tb.offline(false)
		tb.waitText("Are you in a tunnel?")
		want := []string{"before the tunnel", "Are you in a tunnel?", "offline message 1", "offline message 2", "offline message 3"}
		deadline := time.Now().Add(20 * time.Second)
		for {
			h := e.history(t, conv)
			if len(h) >= len(want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		tb.waitFor("all four sent", `function(){ const s = [...this.querySelectorAll("li.me .state")]; return s.length === 4 && s.every(x => x.textContent === "Sent"); }`)
		var seen int
		tb.in(`function(){ return [...this.querySelectorAll("li.them .bubble")].filter(b => b.textContent === "Are you in a tunnel?").length; }`, &seen)
		if seen != 1 {
			t.Fatalf("the agent's message is shown %d times", seen)
		}
		time.Sleep(1500 * time.Millisecond) // a late duplicate would show up now
		h := e.history(t, conv)
		var bodies []string
		for _, m := range h {
			bodies = append(bodies, m.Body)
		}
		if strings.Join(bodies, "|") != strings.Join(want, "|") {
			t.Fatalf("the server's history is %q, want %q", bodies, want)
		}
		if n := outbox(); n != 0 {
			t.Fatalf("%d messages still in the stored outbox", n)
		}

		// A second tab of the same customer shows the same conversation, history included, and both follow it.
		tb2 := newTab(t, e.browser, tb)
		tb2.navigate(e.host.srv.URL + "/")
		tb2.attach("parley-widget")
		tb2.waitText("offline message 3")
		var shown []string
		tb2.in(`function(){ return [...this.querySelectorAll("li.msg:not(.greet) .bubble")].map(b => b.textContent); }`, &shown)
		if strings.Join(shown, "|") != strings.Join(want, "|") {
			t.Fatalf("the second tab shows %q", shown)
		}
		agent.send(conv, "Welcome back, Olga")
		tb.waitText("Welcome back, Olga")
		tb2.waitText("Welcome back, Olga")
	})

	t.Run("XSS corpus", func(t *testing.T) {
		// RELIABILITY.md B6: nothing the agent writes, no name, no file name may run in the customer's page.
		ctx := context.Background()
		var evil client.Agent
		if _, err := e.node.Admin.Do(ctx, "POST", "/api/v1/agents", map[string]any{"email": "evil@example.com",
			"name": `<svg onload="window.__xss='agent name'">`, "password": apptest.Password, "role": "agent",
			"teams": []string{e.node.TeamID}}, &evil); err != nil {
			t.Fatal(err)
		}
		evilAPI := &client.API{BaseURL: e.node.URL}
		if _, err := evilAPI.Login(ctx, "evil@example.com", apptest.Password); err != nil {
			t.Fatal(err)
		}
		tb := newTab(t, e.browser, nil)
		e.openWidget(t, tb, `<img src=x onerror="window.__xss='customer name'">`)
		conv := tb.conversationOf(e.node.SiteKey)
		tb.click("textarea")
		tb.typeText(`<img src=x onerror="window.__xss='own message'">`)
		tb.enter()
		agent := e.node.Dial(evilAPI, client.WebSocket, client.Options{})
		send := func(body string) {
			sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if _, err := agent.Send(sctx, conv, body); err != nil {
				t.Fatalf("send %q: %v", body, err)
			}
		}
		corpus := []string{
			`<script>window.__xss='script'</script>`,
			`<img src=x onerror="window.__xss='img'">`,
			`<svg onload="window.__xss='svg'"></svg>`,
			`<iframe src="javascript:window.__xss='iframe'"></iframe>`,
			`[click me](javascript:window.__xss='md')`,
			`javascript:window.__xss='js-url'`,
			`data:text/html,<script>window.__xss='data-url'</script>`,
			`{{constructor.constructor('window.__xss="template"')()}}`,
			`"><script>window.__xss='break-out'</script>`,
			`<a href="javascript:window.__xss='anchor'">x</a>`,
			`https://example.com/"><img src=x onerror="window.__xss='in-url'">`,
			`<math><mtext><table><mglyph><style><img src=x onerror="window.__xss='mxss'">`,
		}
		for _, p := range corpus {
			send(p)
		}
		agent.Typing(conv)
		// A file whose name is markup, sent by the agent.
		u := newUploaderFor(t, e.node.URL)
		u.upload(evilAPI.Token, conv, `<img src=x onerror="window.__xss='file name'">.png`, pngBytes(t))
		tb.waitText(corpus[len(corpus)-1])
		tb.waitFor("the agent's file", `function(){ return !!this.querySelector("li.them img"); }`)
		if _, err := evilAPI.CloseConversation(ctx, conv); err != nil {
			t.Fatal(err)
		}
		tb.waitText("closed the conversation")
		time.Sleep(time.Second) // onerror/onload handlers would have fired by now

		var canary any
		tb.page(`window.__xss === undefined ? null : String(window.__xss)`, &canary)
		if canary != nil {
			t.Fatalf("XSS: window.__xss = %v", canary)
		}
		// Every payload is on screen as the text it is; the only links are http(s) ones.
		text := tb.panelText()
		for _, p := range corpus {
			if !strings.Contains(text, p) {
				t.Errorf("payload not shown as text: %q", p)
			}
		}
		var hrefs []string
		tb.in(`function(){ return [...this.querySelectorAll("a[href]")].map(a => a.href).filter(h => !h.startsWith("blob:")); }`, &hrefs)
		for _, h := range hrefs {
			if !strings.HasPrefix(h, "https://") && !strings.HasPrefix(h, "http://") {
				t.Errorf("a link to %q", h)
			}
		}
		var elements int
		tb.in(`function(){ return this.querySelectorAll(".log script, .log iframe, .log math, .log style, .log object, .log embed").length +
			[...this.querySelectorAll(".log svg")].filter(s => !s.closest("button")).length; }`, &elements)
		if elements != 0 {
			t.Errorf("%d elements made from message content", elements)
		}
	})

	t.Run("origin not allowed", func(t *testing.T) {
		other := startHost(t, e.node.URL, e.node.SiteKey) // a new origin, not in the site's list
		sessions := strings.Count(e.node.Logs.String(), `route="POST /api/v1/visitor/session"`)
		tb := newTab(t, e.browser, nil)
		tb.navigate(other.srv.URL + "/")
		tb.attach("parley-widget")
		tb.click(".launcher")
		tb.waitText("The chat is not available right now.")
		// The browser's CORS preflight is already refused, so no visitor session is even asked for.
		if n := strings.Count(e.node.Logs.String(), `route="POST /api/v1/visitor/session"`); n != sessions {
			t.Errorf("a page on a refused origin reached the visitor session endpoint:\n%s", tailLines(e.node.Logs.String(), 15))
		}
		var stored string
		tb.page(`(JSON.parse(localStorage.getItem("parley:v1:`+e.node.SiteKey+`") || "{}").token || "")`, &stored)
		if stored != "" {
			t.Fatal("a page on a refused origin got a visitor token")
		}
	})

	t.Run("zh-CN phone", func(t *testing.T) {
		tb := newTab(t, e.browser, nil)
		tb.phone("zh-CN")
		tb.navigate(e.host.srv.URL + "/")
		tb.attach("parley-widget")
		var label string
		tb.in(`function(){ return this.querySelector(".launcher").getAttribute("aria-label"); }`, &label)
		if label != "在线客服" {
			t.Errorf("launcher label %q", label)
		}
		tb.click(".launcher")
		tb.waitText("开始咨询前")
		var box struct{ X, Y, W, H, VW, VH float64 }
		tb.in(`function(){ const b = this.querySelector(".panel").getBoundingClientRect();
			return {X: b.x, Y: b.y, W: b.width, H: b.height, VW: innerWidth, VH: innerHeight}; }`, &box)
		if box.X != 0 || box.Y != 0 || box.W != 375 || box.W != box.VW || box.H != box.VH {
			t.Errorf("on a 375px phone the panel is %+v, want the whole viewport", box)
		}
		tb.screenshot("widget-zh-375-prechat")
		tb.fill("input[name=name]", "王小明")
		tb.click("form.prechat button[type=submit]")
		tb.waitFor("the chat", `function(){ const c = this.querySelector("form.composer"); return !!c && !c.hidden; }`)
		conv := tb.conversationOf(e.node.SiteKey)
		tb.click("textarea")
		tb.typeText("你好，我的快递什么时候到？")
		tb.enter()
		agent := e.dialAgent(t)
		agent.c.Subscribe(conv, 0)
		m := agent.waitMessage("我的快递")
		agent.c.MarkRead(conv, m.Seq)
		agent.send(conv, "您好！您的包裹已发货，预计明天送达。查询物流：https://example.com/track")
		tb.waitText("预计明天送达")
		tb.waitText("已读")
		agent.c.Typing(conv)
		tb.waitText("li 正在输入…")
		tb.screenshot("widget-zh-375-chat")
		if title := tb.text("h2"); title != "在线客服" {
			t.Errorf("title %q", title)
		}
	})

	t.Run("chat page", func(t *testing.T) {
		tb := newTab(t, e.browser, nil)
		tb.navigate(e.node.URL + "/chat/" + e.node.SiteKey)
		tb.attach("parley-chat")
		tb.waitFor("the pre-chat form", `function(){ return !!this.querySelector("form.prechat input[name=name]"); }`)
		tb.fill("input[name=name]", "Paula Page")
		tb.click("form.prechat button[type=submit]")
		tb.waitFor("the chat", `function(){ const c = this.querySelector("form.composer"); return !!c && !c.hidden; }`)
		conv := tb.conversationOf(e.node.SiteKey)
		tb.click("textarea")
		tb.typeText("Hi from the QR code")
		tb.enter()
		agent := e.dialAgent(t)
		agent.c.Subscribe(conv, 0)
		agent.waitMessage("Hi from the QR code")
		agent.send(conv, "Hello Paula!")
		tb.waitText("Hello Paula!")
		tb.screenshot("chat-page-en")
		// The page runs under a strict CSP without inline script (the chat above working is the proof that
		// the policy lets it run).
		res, err := http.Get(e.node.URL + "/chat/" + e.node.SiteKey)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("chat page CSP %q", csp)
		}
		var closeShown bool
		tb.in(`function(){ const b = this.querySelector('header button[aria-label="Close chat"]'); return !!b && !b.hidden; }`, &closeShown)
		if closeShown {
			t.Error("the full page has a close button")
		}
	})

	t.Run("long-poll when WebSockets are blocked", func(t *testing.T) {
		tb := newTab(t, e.browser, nil)
		tb.blockWebSockets()
		e.openWidget(t, tb, "Pat Proxy")
		conv := tb.conversationOf(e.node.SiteKey)
		tb.click("textarea")
		tb.typeText("sent over REST")
		tb.enter()
		agent := e.dialAgent(t)
		agent.c.Subscribe(conv, 0)
		m := agent.waitMessage("sent over REST")
		agent.c.MarkRead(conv, m.Seq)
		agent.send(conv, "received by long-polling")
		tb.waitText("received by long-polling")
		tb.waitFor("the read state", `function(){ const s = this.querySelector("li.me .state"); return !!s && s.textContent === "Read"; }`)
		if !strings.Contains(e.node.Logs.String(), "route=\"GET /api/v1/poll\"") {
			t.Errorf("no long-poll request reached the server:\n%s", tailLines(e.node.Logs.String(), 25))
		}
	})

	t.Run("history pages back", func(t *testing.T) {
		tb := newTab(t, e.browser, nil)
		e.openWidget(t, tb, "Hanna History")
		conv := tb.conversationOf(e.node.SiteKey)
		// 60 messages from the customer (with the token the widget keeps), then a PDF from the agent.
		var token string
		tb.page(`JSON.parse(localStorage.getItem("parley:v1:`+e.node.SiteKey+`")).token`, &token)
		customer := &client.API{BaseURL: e.node.URL, Token: token}
		ctx := context.Background()
		for i := 1; i <= 60; i++ {
			if _, err := customer.PostMessage(ctx, conv, fmt.Sprintf("h-%d", i), fmt.Sprintf("line %02d", i), ""); err != nil {
				t.Fatal(err)
			}
		}
		newUploaderFor(t, e.node.URL).upload(e.agent.Token, conv, "invoice 2024.pdf", []byte("%PDF-1.4\n%%EOF\n"))
		tb.reload()
		tb.attach("parley-widget")
		tb.waitFor("the file link", `function(){ const b = this.querySelector("li.them .filebtn"); return !!b && b.textContent.includes("invoice 2024.pdf"); }`)
		lines := func() []string {
			var ls []string
			tb.in(`function(){ return [...this.querySelectorAll("li.me .bubble")].map(b => b.textContent); }`, &ls)
			return ls
		}
		if got := lines(); len(got) != 49 || got[0] != "line 12" {
			t.Fatalf("the latest page shows %d lines from %q", len(got), got[:1])
		}
		// The log scrolls to its end after a reload; a click computed before the scroll settled can land beside
		// the button under load, so click again (a person would) until the earlier page shows.
		for attempt := 0; ; attempt++ {
			tb.click(".earlier")
			var n int
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if tb.tryIn(`function(){ return this.querySelectorAll("li.me .bubble").length; }`, &n) == nil && n == 60 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if n == 60 || attempt == 3 {
				break
			}
		}
		tb.waitFor("the earlier page", `function(){ return this.querySelectorAll("li.me .bubble").length === 60; }`)
		got := lines()
		for i, l := range got {
			if l != fmt.Sprintf("line %02d", i+1) {
				t.Fatalf("after paging back, line %d is %q", i+1, l)
			}
		}
		tb.waitFor("no more earlier pages", `function(){ return this.querySelector(".earlier").hidden; }`)

		// The PDF is offered as a download, fetched with the visitor token.
		dir := t.TempDir()
		tb.allowDownloads(dir)
		tb.click("li.them .filebtn")
		if pdf := waitFile(t, dir, "invoice"); !strings.HasPrefix(pdf, "%PDF-1.4") {
			t.Fatalf("downloaded %q", pdf)
		}
	})

	t.Run("a site without pre-chat, forced Chinese, on the left", func(t *testing.T) {
		ctx := context.Background()
		site := &chat.Site{Name: "Second shop", WidgetKey: "site_second_shop", Secret: "secret-secret-secret-secret-1234",
			AllowedOrigins: []string{e.host.Origin}, DefaultTeamID: e.node.TeamID,
			Settings: chat.SiteSettings{Color: "#fde047", Position: "left", Language: "zh-CN", Greeting: "欢迎光临第二家店！"}}
		if err := e.node.App.Store.CreateSite(ctx, site); err != nil {
			t.Fatal(err)
		}
		tb := newTab(t, e.browser, nil)
		tb.navigate(e.host.srv.URL + "/?site=" + site.WidgetKey)
		tb.attach("parley-widget")
		tb.click(".launcher")
		tb.waitText("欢迎光临第二家店！")
		if title := tb.text("h2"); title != "在线客服" {
			t.Errorf("forced Chinese: title %q", title)
		}
		var look struct {
			PanelX, LauncherX float64
			Fg                string
		}
		tb.in(`function(){ return {PanelX: this.querySelector(".panel").getBoundingClientRect().x,
			LauncherX: this.querySelector(".launcher").getBoundingClientRect().x,
			Fg: getComputedStyle(this.querySelector("header")).color}; }`, &look)
		if look.PanelX > 40 || look.LauncherX > 40 || look.Fg != "rgb(17, 24, 39)" {
			t.Errorf("left, light accent: %+v", look)
		}
		// No form: the first message starts the conversation.
		tb.click("textarea")
		tb.typeText("没有表单也能聊天")
		tb.enter()
		conv := tb.conversationOf(site.WidgetKey)
		tb.waitFor("the message sent", `function(){ const s = this.querySelector("li.me .state"); return !!s && s.textContent === "已发送"; }`)
		if h := e.history(t, conv); len(h) != 1 || h[0].Body != "没有表单也能聊天" {
			t.Fatalf("history %+v", h)
		}
		// After the agent closes it, "new conversation" and the next message start another one.
		if _, err := e.agent.CloseConversation(ctx, conv); err != nil {
			t.Fatal(err)
		}
		tb.waitText("li 结束了对话")
		tb.click(".card .btn.secondary")
		tb.click("textarea")
		tb.typeText("又有一个问题")
		tb.enter()
		tb.waitFor("a new conversation", `function(){ const s = [...this.querySelectorAll("li.me .state")]; return s.length === 1 && s[0].textContent === "已发送"; }`)
		if next := tb.conversationOf(site.WidgetKey); next == conv {
			t.Fatal("the message after the close went to the closed conversation")
		}
	})

	t.Run("out of hours: leave a message", func(t *testing.T) {
		ctx := context.Background()
		// Business hours with no open day: always closed.
		site := &chat.Site{Name: "Night shop", WidgetKey: "site_night_shop", Secret: "secret-secret-secret-secret-5678",
			AllowedOrigins: []string{e.host.Origin}, DefaultTeamID: e.node.TeamID,
			Settings: chat.SiteSettings{Language: "en", Greeting: "Hello from the night shop",
				Routing: chat.RoutingSettings{BusinessHours: chat.BusinessHours{Enabled: true, TimeZone: "Asia/Shanghai"}}}}
		if err := e.node.App.Store.CreateSite(ctx, site); err != nil {
			t.Fatal(err)
		}
		// An agent is online with room: out of hours the conversation is still a left message, never offered
		// (the router draining the queue must not get to it between its creation and the decision).
		e.dialAgent(t)
		tb := newTab(t, e.browser, nil)
		tb.navigate(e.host.srv.URL + "/?site=" + site.WidgetKey)
		tb.attach("parley-widget")
		tb.click(".launcher")
		tb.waitText("Hello from the night shop")
		tb.click("textarea")
		tb.typeText("Please call me back tomorrow")
		tb.enter()
		conv := tb.conversationOf(site.WidgetKey)
		tb.waitFor("the leave-a-message notice", `function(){ const b = this.querySelector(".banner");
			return !!b && !b.hidden && b.textContent === "Nobody is available right now. Leave a message and we will get back to you."; }`)
		tb.waitFor("the message sent", `function(){ const s = this.querySelector("li.me .state"); return !!s && s.textContent === "Sent"; }`)
		c, err := e.agent.Conversation(ctx, conv)
		if err != nil || c.Status != "pending" {
			t.Fatalf("conversation out of hours: %+v %v, want pending", c, err)
		}
		var left bool
		for _, m := range e.history(t, conv) {
			left = left || m.Body == "Please call me back tomorrow"
		}
		if !left {
			t.Fatal("the customer's message was not stored")
		}
	})

	t.Run("loader budget", func(t *testing.T) {
		// What every page view of every host site pays, as the browser receives it (gzip).
		n := fetchGzipSize(t, e.node.URL+"/widget.js")
		t.Logf("widget.js: %d bytes gzipped", n)
		if n <= 0 || n >= 10*1024 {
			t.Fatalf("widget.js is %d bytes gzipped; the budget is 10 KB", n)
		}
	})
}
