package widgettest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/protocol"
)

// attachDocument points the tab's queries at the page's document (the console has no shadow root).
func (tb *tab) attachDocument() {
	tb.t.Helper()
	tb.call(func(ctx context.Context) error {
		res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{Expression: "document"})
		if err != nil {
			return err
		}
		if res.ExceptionDetails != nil {
			return chromedpError(res.ExceptionDetails)
		}
		tb.root = res.Result.ObjectID
		return nil
	})
}

// consoleLogin opens the console in a new browser context and logs in as email.
func consoleLogin(t *testing.T, browser context.Context, base, email string) *tab {
	t.Helper()
	tb := newTab(t, browser, nil)
	tb.navigate(base + "/console/")
	tb.attachDocument()
	tb.waitFor("the login form", `function(){ return !!this.querySelector("form input[name=email]"); }`)
	tb.fill("input[name=email]", email)
	tb.fill("input[name=password]", apptest.Password)
	tb.key("\r")
	tb.waitFor("the inbox, connected", `function(){ return !!this.querySelector("nav.inbox .tabs") && !this.querySelector(".offline-note"); }`)
	return tb
}

type jsError struct{ text string }

func (e jsError) Error() string { return "javascript: " + e.text }

func chromedpError(d *runtime.ExceptionDetails) error {
	return jsError{d.Text + " " + exceptionText(d)}
}

// The agent's day in the console: log in; a customer's new conversation arrives live as an offer; accept it;
// the customer's messages appear without a refresh; reply; an internal note the customer never receives;
// close. A customer name carrying markup is shown as text and runs nothing.
func TestConsole(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	var ann struct {
		ID string `json:"id"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": "ann@example.com", "name": "Ann",
		"password": apptest.Password, "role": chat.RoleAgent, "teams": []string{n.TeamID}, "capacity": 3}, &ann); err != nil {
		t.Fatal(err)
	}
	browser := testenv.Browser(t, "window-size", "1280,860")
	tb := consoleLogin(t, browser, n.URL, "ann@example.com")

	// A customer whose name is markup starts a conversation: it is offered to Ann, who is online in the console.
	const evilName = `<img src=x onerror="window.__xss=1">Zoë`
	cust := &client.API{BaseURL: n.URL}
	if _, err := cust.StartVisitor(ctx, client.Visitor{SiteKey: n.SiteKey, Name: evilName}); err != nil {
		t.Fatal(err)
	}
	conv, err := cust.StartConversation(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if conv.Status != "offered" || conv.OfferedTo != ann.ID {
		t.Fatalf("the new conversation is %s to %q, want offered to Ann (online in the console)", conv.Status, conv.OfferedTo)
	}
	if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), "Where is my order?", ""); err != nil {
		t.Fatal(err)
	}
	item := `[data-conv="` + conv.ID + `"]`
	tb.waitFor("the offer in the inbox", `function(sel){ const i = this.querySelector(sel); return !!i && i.textContent.includes("Offered to you"); }`, item)
	var name string
	tb.in(`function(sel){ return this.querySelector(sel + " .name").textContent; }`, &name, item)
	if name != evilName {
		t.Errorf("the customer's name shows as %q, want the text itself", name)
	}
	tb.click(item)
	tb.waitFor("the customer's message", `function(){ return [...this.querySelectorAll(".log .msg.them .body")].some(b => b.textContent === "Where is my order?"); }`)
	tb.click(".conv-head button.primary") // Accept
	tb.waitFor("the agent joined", `function(){ return [...this.querySelectorAll(".log .msg.system .body")].some(b => b.textContent === "Ann joined the conversation"); }`)
	if c, err := cust.Conversation(ctx, conv.ID); err != nil || c.Status != "assigned" || c.AgentID != ann.ID {
		t.Fatalf("after accept: %+v %v", c, err)
	}

	// A shared canned reply, made by an admin; an agent may not share one.
	const cannedBody = "Thank you for waiting. 感谢您的耐心等待！"
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/canned-replies", map[string]any{"shortcut": "thanks", "body": cannedBody, "shared": true}, nil); err != nil {
		t.Fatal(err)
	}
	annAPI := &client.API{BaseURL: n.URL}
	if _, err := annAPI.Login(ctx, "ann@example.com", apptest.Password); err != nil {
		t.Fatal(err)
	}
	if _, err := annAPI.Do(ctx, http.MethodPost, "/api/v1/canned-replies", map[string]any{"shortcut": "mine", "body": "x", "shared": true}, nil); !strings.Contains(fmt.Sprint(err), "403") {
		t.Fatalf("an agent sharing a canned reply: %v, want 403", err)
	}

	// The customer writes again: it appears live.
	if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), "It was due on Monday", ""); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the live message", `function(){ return [...this.querySelectorAll(".log .msg.them .body")].some(b => b.textContent === "It was due on Monday"); }`)

	// Ann replies with the keyboard ("/" focuses the composer, Enter sends); the customer receives it.
	tb.key("/")
	tb.waitFor("the composer focused", `function(){ return document.activeElement === this.querySelector("form.composer textarea"); }`)
	tb.typeText("Let me check that for you.")
	tb.key("\r")
	reply := waitCustomerSees(t, cust, conv.ID, "Let me check that for you.")
	// "/tha" offers the canned reply; Tab inserts it, Enter sends it.
	tb.click(item) // reopens the conversation, which reloads the canned replies
	tb.waitFor("the history again", `function(){ return [...this.querySelectorAll(".log .msg.me .body")].some(b => b.textContent === "Let me check that for you."); }`)
	tb.click("form.composer textarea")
	tb.typeText("/tha")
	tb.waitFor("the canned reply offered", `function(){ const o = this.querySelector(".canned li button"); return !!o && o.textContent.includes("/thanks"); }`)
	tb.key("\t")
	tb.waitFor("the canned reply inserted", `function(b){ return this.querySelector("form.composer textarea").value === b; }`, cannedBody)
	tb.key("\r")
	waitCustomerSees(t, cust, conv.ID, cannedBody)
	// An image from the agent: uploaded from the composer, shown inline, received by the customer.
	tb.setFile("label.attach input", pngFile(t))
	tb.waitFor("the image inline", `function(){ const i = this.querySelector(".log .msg.me img.attachment"); return !!i && i.complete && i.naturalWidth === 120; }`)
	if m := waitCustomerSees(t, cust, conv.ID, "receipt.png"); m.Type != "image" {
		t.Fatalf("the agent's upload arrived as %+v", m)
	}
	// The customer reads it: the console shows the read receipt.
	if err := cust.MarkRead(ctx, conv.ID, reply.Seq); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the read receipt", `function(){ const s = this.querySelector(".log .msg.me .state"); return !!s && s.textContent === "Read"; }`)
	// The customer panel: the name as text, the channel.
	tb.waitFor("the customer panel", `function(n){ const h = this.querySelector("aside.customer h3"); return !!h && h.textContent === n &&
		this.querySelector("aside.customer dl").textContent.includes("Web"); }`, evilName)

	// An internal note: shown to agents, a hidden entry for the customer.
	tb.click(".note-toggle input")
	tb.click("form.composer textarea")
	tb.typeText("VIP, refund if late")
	tb.key("\r")
	tb.waitFor("the note", `function(){ return [...this.querySelectorAll(".log .msg.note .body")].some(b => b.textContent === "VIP, refund if late"); }`)
	page, err := cust.After(ctx, conv.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if strings.Contains(m.Body, "VIP") {
			t.Fatalf("the customer received the note: %+v", m)
		}
	}
	// The same screen in Chinese: the switch in the header; the choice is remembered.
	tb.in(`function(){ [...this.querySelectorAll("header.top button")].find(b => b.textContent === "中文").click(); }`, nil)
	tb.waitFor("the console in Chinese", `function(){ return document.documentElement.lang === "zh-CN" &&
		[...this.querySelectorAll(".tabs .tab")].some(b => b.textContent.startsWith("我的")); }`)
	tb.in(`function(){ [...this.querySelectorAll("header.top button")].find(b => b.textContent === "English").click(); }`, nil)
	tb.waitFor("the console in English again", `function(){ return document.documentElement.lang === "en"; }`)

	// The server restarts: the console reconnects by itself and shows what arrived meanwhile, no reload.
	addr := n.Server.Listener.Addr().String()
	n.Stop()
	tb.waitFor("the reconnecting notice", `function(){ return !!this.querySelector(".offline-note"); }`)
	n = apptest.Start(t, "sqlite", apptest.Options{DataDir: n.DataDir, Addr: addr})
	if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), "Are you still there?", ""); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the message sent during the restart", `function(){ return !this.querySelector(".offline-note") &&
		[...this.querySelectorAll(".log .msg.them .body")].some(b => b.textContent === "Are you still there?"); }`)

	// Search finds a Chinese phrase and an English one and opens the conversation at the message.
	if _, err := n.App.Indexer.Run(ctx, 10000); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct{ query, body string }{{"耐心等待", cannedBody}, {"due on monday", "It was due on Monday"}} {
		tb.fill("form.search input", q.query)
		tb.key("\r")
		tb.waitFor("a search result for "+q.query, `function(b){ return [...this.querySelectorAll("nav.inbox .item.result .snippet")].some(s => s.textContent === b); }`, q.body)
		tb.click("nav.inbox .item.result")
		tb.waitFor("the conversation at the message found", `function(b){ const h = this.querySelector(".log .msg.hit .body"); return !!h && h.textContent === b; }`, q.body)
		tb.in(`function(){ this.querySelector("form.search input").value = ""; }`, nil)
	}
	tb.in(`function(){ [...this.querySelectorAll("nav.inbox .tabs button")].find(b => b.textContent === "Cancel").click(); }`, nil)
	tb.waitFor("the inbox again", `function(){ return !!this.querySelector("nav.inbox .tabs .tab"); }`)

	// Transfer to Bob, working in another browser: he sees it arrive, with Ann's note, and closes it.
	var bob struct {
		ID string `json:"id"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": "bob@example.com", "name": "Bob",
		"password": apptest.Password, "role": chat.RoleAgent, "teams": []string{n.TeamID}, "capacity": 2}, &bob); err != nil {
		t.Fatal(err)
	}
	bt := consoleLogin(t, browser, n.URL, "bob@example.com")
	tb.click(".conv-head button.transfer")
	tb.waitFor("the transfer form with Bob", `function(id){ const o = this.querySelector('.transfer-form option[value="agent:' + id + '"]'); return !!o && !o.disabled; }`, bob.ID)
	tb.in(`function(id){ this.querySelector(".transfer-form select").value = "agent:" + id; }`, nil, bob.ID)
	tb.fill(".transfer-form input[name=note]", "Please handle the refund")
	tb.click(".transfer-form button.primary")
	bt.waitFor("the transferred conversation in Bob's inbox", `function(sel){ return !!this.querySelector(sel); }`, item)
	bt.click(item)
	bt.waitFor("Ann's note and the transfer", `function(){ const t = [...this.querySelectorAll(".log .msg .body")].map(b => b.textContent);
		return t.includes("Please handle the refund") && t.includes("Ann transferred the conversation to Bob"); }`)
	if c, err := cust.Conversation(ctx, conv.ID); err != nil || c.AgentID != bob.ID {
		t.Fatalf("after the transfer: %+v %v, want Bob", c, err)
	}
	bt.in(`function(){ [...this.querySelectorAll(".conv-head button")].find(b => b.textContent === "Close").click(); }`, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := cust.Conversation(ctx, conv.ID)
		if err == nil && c.Status == "closed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the conversation was not closed: %+v %v", c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Bob reopens it: back with him, the last agent, who has room.
	bt.click(".conv-head button.reopen")
	deadline = time.Now().Add(10 * time.Second)
	for {
		c, err := cust.Conversation(ctx, conv.ID)
		if err == nil && c.Status == "assigned" && c.AgentID == bob.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the conversation was not reopened with Bob: %+v %v", c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var xss any
	tb.call(func(ctx context.Context) error {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any]("window.__xss ?? null"))
		xss = v
		return err
	})
	if xss != nil {
		t.Fatalf("markup in a customer's name ran: window.__xss = %v", xss)
	}
}

func waitCustomerSees(t *testing.T, cust *client.API, conv, body string) protocol.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		page, err := cust.After(context.Background(), conv, 0, 200)
		if err == nil {
			for _, m := range page.Messages {
				if m.Body == body && m.SenderType == "agent" {
					return m
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the customer never received %q", body)
	return protocol.Message{}
}

// The admin pages: an admin changes an agent's capacity and a site's greeting from the console, and the
// change holds at once; an agent sees no admin page (and the API refuses them, see TestSitesAdmin and
// TestAdminOnlyEndpoints).
func TestConsoleAdmin(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	agentAPI := n.Agent("cara@example.com", chat.RoleAgent)
	browser := testenv.Browser(t, "window-size", "1280,860")
	cara := consoleLogin(t, browser, n.URL, "cara@example.com")
	var hasAdmin bool
	cara.in(`function(){ return [...this.querySelectorAll("header.top button")].some(b => b.textContent === "Admin"); }`, &hasAdmin)
	if hasAdmin {
		t.Fatal("an agent is offered the admin pages")
	}
	admin := consoleLogin(t, browser, n.URL, "admin@example.com")
	admin.in(`function(){ [...this.querySelectorAll("header.top button")].find(b => b.textContent === "Admin").click(); }`, nil)
	admin.waitFor("the agents table", `function(){ return !!this.querySelector('tr[data-agent="cara@example.com"] input[name=capacity]'); }`)
	admin.in(`function(){ const i = this.querySelector('tr[data-agent="cara@example.com"] input[name=capacity]'); i.value = "7";
		this.querySelector('tr[data-agent="cara@example.com"] button[type=submit]').click(); }`, nil)
	admin.waitFor("saved", `function(){ const n = this.querySelector(".notice"); return !!n && n.textContent === "Saved."; }`)
	var me struct {
		Capacity int `json:"capacity"`
	}
	if _, err := agentAPI.Do(ctx, http.MethodGet, "/api/v1/agents/me", nil, &me); err != nil || me.Capacity != 7 {
		t.Fatalf("capacity after the admin page: %+v %v", me, err)
	}
	admin.in(`function(k){ const f = this.querySelector('form.site[data-site="' + k + '"]'); f.querySelector("input[name=greeting]").value = "欢迎光临！";
		f.querySelector("button[type=submit]").click(); }`, nil, n.SiteKey)
	deadline := time.Now().Add(10 * time.Second)
	for {
		site, err := n.App.Store.SiteByKey(ctx, n.SiteKey)
		if err == nil && site.Settings.Greeting == "欢迎光临！" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the greeting was not saved: %+v %v", site, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A team renamed: the name holds at once.
	admin.in(`function(id){ const f = this.querySelector('li[data-team="' + id + '"] form'); f.querySelector("input[name=name]").value = "售后 Support";
		f.querySelector("button[type=submit]").click(); }`, nil, n.TeamID)
	admin.waitFor("the team renamed", `function(id){ const i = this.querySelector('li[data-team="' + id + '"] input[name=name]'); return !!i && i.defaultValue === "售后 Support"; }`, n.TeamID)
	if teams, err := n.App.Store.Teams(ctx); err != nil || len(teams) != 1 || teams[0].Name != "售后 Support" {
		t.Fatalf("teams after the rename: %+v %v", teams, err)
	}

	// Reports: a conversation of today counts, the charts are drawn, the live view lists the agents.
	if _, conv := startAs(t, n, "report visitor"); conv == "" {
		t.Fatal("no conversation")
	}
	admin.in(`function(){ [...this.querySelectorAll("header.top button")].find(b => b.textContent === "Reports").click(); }`, nil)
	admin.waitFor("the report", `function(){ const d = this.querySelector(".figures .total"); return !!d && d.textContent === "1" &&
		this.querySelectorAll(".chart canvas").length >= 4 && [...this.querySelectorAll(".live td")].some(c => c.textContent === "cara"); }`)
}

// startAs opens a visitor session and a conversation on n's default site.
func startAs(t *testing.T, n *apptest.Node, name string) (*client.API, string) {
	t.Helper()
	cust := &client.API{BaseURL: n.URL}
	if _, err := cust.StartVisitor(context.Background(), client.Visitor{SiteKey: n.SiteKey, Name: name}); err != nil {
		t.Fatal(err)
	}
	conv, err := cust.StartConversation(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return cust, conv.ID
}

// RELIABILITY.md B6 in the console: markup in customer names, messages, page URLs, user agents and attachment
// file names runs nothing for the agent; each payload is shown as the text it is.
func TestConsoleXSSCorpus(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{Args: []string{"-customer-msg-burst", "100"}})
	ctx := context.Background()
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": "dee@example.com", "name": "Dee",
		"password": apptest.Password, "role": chat.RoleAgent, "teams": []string{n.TeamID}, "capacity": 3, "auto_accept": true}, nil); err != nil {
		t.Fatal(err)
	}
	browser := testenv.Browser(t, "window-size", "1280,860")
	tb := consoleLogin(t, browser, n.URL, "dee@example.com")

	cust := &client.API{BaseURL: n.URL}
	if _, err := cust.StartVisitor(ctx, client.Visitor{SiteKey: n.SiteKey, Name: `<img src=x onerror="window.__xss='name'">`,
		Context: map[string]string{"page_url": `javascript:window.__xss='page'`, "user_agent": `<script>window.__xss='ua'</script>`,
			"location": `<iframe src="javascript:window.__xss='loc'">`}}); err != nil {
		t.Fatal(err)
	}
	conv, err := cust.StartConversation(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	corpus := []string{
		`<script>window.__xss='script'</script>`,
		`<img src=x onerror="window.__xss='img'">`,
		`<svg onload="window.__xss='svg'"></svg>`,
		`[click me](javascript:window.__xss='md')`,
		`{{constructor.constructor('window.__xss="template"')()}}`,
		`"><script>window.__xss='break-out'</script>`,
		`<math><mtext><table><mglyph><style><img src=x onerror="window.__xss='mxss'">`,
	}
	for _, p := range corpus {
		if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), p, ""); err != nil {
			t.Fatal(err)
		}
	}
	newUploaderFor(t, n.URL).upload(cust.Token, conv.ID, `<img src=x onerror="window.__xss='file'">.png`, pngBytes(t))
	item := `[data-conv="` + conv.ID + `"]`
	tb.waitFor("the conversation in the inbox", `function(sel){ return !!this.querySelector(sel); }`, item)
	tb.click(item)
	tb.waitFor("the last payload", `function(p){ return [...this.querySelectorAll(".log .msg .body")].some(b => b.textContent === p); }`, corpus[len(corpus)-1])
	tb.waitFor("the customer panel", `function(){ return !!this.querySelector("aside.customer dl"); }`)
	time.Sleep(time.Second) // handlers would have fired by now
	var canary any
	tb.call(func(ctx context.Context) error {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any]("window.__xss ?? null"))
		canary = v
		return err
	})
	if canary != nil {
		t.Fatalf("XSS in the console: window.__xss = %v", canary)
	}
	var text string
	tb.in(`function(){ return document.body.innerText; }`, &text)
	for _, p := range append(corpus, `javascript:window.__xss='page'`, `<script>window.__xss='ua'</script>`) {
		if !strings.Contains(text, p) {
			t.Errorf("not shown as text: %q", p)
		}
	}
	var links []string
	tb.in(`function(){ return [...document.querySelectorAll("a[href]")].map(a => a.href); }`, &links)
	for _, h := range links {
		if !strings.HasPrefix(h, "http://") && !strings.HasPrefix(h, "https://") {
			t.Errorf("a link to %q", h)
		}
	}
}

// chooseOption picks value in the <select> matching sel, as a person choosing it would (a change event). The
// value travels in an array: an empty string argument would arrive as undefined (cdproto omits empty values).
func (tb *tab) chooseOption(sel, value string) {
	tb.t.Helper()
	tb.waitFor("the option "+value+" in "+sel, `function(sel, v){ const s = this.querySelector(sel); return !!s && [...s.options].some(o => o.value === v[0]); }`, sel, []string{value})
	tb.in(`function(sel, v){ const s = this.querySelector(sel); s.value = v[0]; s.dispatchEvent(new Event("change", {bubbles: true})); }`, nil, sel, []string{value})
}

// setChecked clicks the checkbox matching sel when it is not in the state wanted.
func (tb *tab) setChecked(sel string, on bool) {
	tb.t.Helper()
	var is bool
	tb.waitFor("the checkbox "+sel, `function(sel){ return !!this.querySelector(sel); }`, sel)
	tb.in(`function(sel){ return this.querySelector(sel).checked; }`, &is, sel)
	if is != on {
		tb.click(sel)
	}
}

// listed returns the ids of the conversations the inbox shows, in order.
func (tb *tab) listed() []string {
	tb.t.Helper()
	var ids []string
	tb.in(`function(){ return [...this.querySelectorAll("nav.inbox .item[data-conv]")].map(b => b.dataset.conv); }`, &ids)
	return ids
}

// waitListed waits until the inbox shows exactly want, in order.
func (tb *tab) waitListed(what string, want ...string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := tb.listed(); strings.Join(got, " ") == strings.Join(want, " ") {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("timed out waiting for %s: the inbox lists %v, want %v", what, tb.listed(), want)
}

// waitListedAnyOrder waits until the inbox shows exactly want, in any order.
func (tb *tab) waitListedAnyOrder(what string, want ...string) {
	tb.t.Helper()
	want = slices.Sorted(slices.Values(want))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if got := slices.Sorted(slices.Values(tb.listed())); slices.Equal(got, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("timed out waiting for %s: the inbox lists %v, want %v in any order", what, tb.listed(), want)
}

// The inbox's filters: status (the open ones by default, the closed history on request), team and channel,
// read from the server; the choices a view does not hold are not offered. An agent is offered only their
// own teams.
func TestConsoleInboxFilters(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	var billing struct {
		ID string `json:"id"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/teams", map[string]any{"name": "Billing 账单"}, &billing); err != nil {
		t.Fatal(err)
	}
	// The admin takes no conversations (capacity 0): everything stays in the queue for this test.
	if _, err := n.Admin.Do(ctx, http.MethodPatch, "/api/v1/agents/me", map[string]any{"capacity": 0}, nil); err != nil {
		t.Fatal(err)
	}
	_, open := startAs(t, n, "Open Olga")
	closer, closed := startAs(t, n, "Closed Carl")
	if _, err := closer.CloseConversation(ctx, closed); err != nil {
		t.Fatal(err)
	}
	_, moved := startAs(t, n, "Billing Bea")
	if _, err := n.Admin.Transfer(ctx, moved, "", billing.ID, ""); err != nil {
		t.Fatal(err)
	}
	browser := testenv.Browser(t, "window-size", "1280,860")
	sup := consoleLogin(t, browser, n.URL, "admin@example.com")
	sup.click(`nav.inbox .tabs .tab:nth-child(3)`) // My teams: every team for an admin
	sup.waitListedAnyOrder("both teams' open conversations", moved, open)
	sup.chooseOption(`.filters select[name=team]`, billing.ID)
	sup.waitListed("Billing's only", moved)
	sup.chooseOption(`.filters select[name=team]`, "")
	sup.chooseOption(`.filters select[name=status]`, "closed")
	sup.waitListed("the closed one", closed)
	sup.chooseOption(`.filters select[name=channel]`, "app")
	sup.waitFor("nothing from the app", `function(){ return !this.querySelector("nav.inbox .item[data-conv]") && !!this.querySelector("nav.inbox .empty"); }`)
	sup.chooseOption(`.filters select[name=channel]`, "")
	// The queue holds no closed conversations: the filter goes back to the open ones.
	sup.click(`nav.inbox .tabs .tab:nth-child(2)`)
	sup.waitListedAnyOrder("the queue", moved, open)
	var opts []string
	sup.in(`function(){ return [...this.querySelectorAll(".filters select[name=status] option")].map(o => o.value); }`, &opts)
	if strings.Join(opts, ",") != ",queued,offered,pending" {
		t.Errorf("the queue's status choices: %q", opts)
	}

	// An agent of one team has no team choice and sees only that team.
	n.Agent("ann@example.com", chat.RoleAgent)
	ann := consoleLogin(t, browser, n.URL, "ann@example.com")
	ann.click(`nav.inbox .tabs .tab:nth-child(3)`)
	ann.waitListed("Ann's team", open)
	var hasTeamChoice bool
	ann.in(`function(){ return !!this.querySelector(".filters select[name=team]"); }`, &hasTeamChoice)
	if hasTeamChoice {
		t.Error("an agent of one team is offered a team filter")
	}
}

// The admin pages cover an agent's whole record — create with role, capacity, auto-accept and teams; change
// role, capacity, weight, auto-accept and teams; disable — and canned replies, personal and shared: each
// change holds at once, without a restart. An agent manages their own replies and only reads the shared ones.
func TestConsoleAdminAgentsAndCanned(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	var billing struct {
		ID string `json:"id"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/teams", map[string]any{"name": "Billing"}, &billing); err != nil {
		t.Fatal(err)
	}
	caraAPI := n.Agent("cara@example.com", chat.RoleAgent)
	browser := testenv.Browser(t, "window-size", "1280,860")
	admin := consoleLogin(t, browser, n.URL, "admin@example.com")
	openPage := func(tb *tab, label string) {
		t.Helper()
		tb.in(`function(l){ [...this.querySelectorAll("header.top nav.pages button")].find(b => b.textContent === l).click(); }`, nil, label)
	}
	// eventually waits until the server holds what the page saved: the change took effect, no restart.
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("never saved: %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	type agentRecord struct {
		ID         string   `json:"id"`
		Email      string   `json:"email"`
		Role       string   `json:"role"`
		Capacity   int      `json:"capacity"`
		Weight     int      `json:"weight"`
		AutoAccept bool     `json:"auto_accept"`
		Disabled   bool     `json:"disabled"`
		Teams      []string `json:"teams"`
	}
	dora := func() agentRecord {
		t.Helper()
		var l struct {
			Agents []agentRecord `json:"agents"`
		}
		if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/agents", nil, &l); err != nil {
			t.Fatal(err)
		}
		for _, a := range l.Agents {
			if a.Email == "dora@example.com" {
				return a
			}
		}
		return agentRecord{}
	}

	// Create Dora: a supervisor of Billing only, capacity 4, auto-accept.
	openPage(admin, "Admin")
	// The page has its data (the rows above the form are in place: clicks land where they aim).
	admin.waitFor("the admin page loaded", `function(id){ return !!this.querySelector('tr[data-agent="cara@example.com"]') &&
		!!this.querySelector('form.new-agent input[name=teams][value="' + id + '"]'); }`, billing.ID)
	admin.fill("form.new-agent input[name=name]", "Dora")
	admin.fill("form.new-agent input[name=email]", "dora@example.com")
	admin.fill("form.new-agent input[name=password]", apptest.Password)
	admin.chooseOption("form.new-agent select[name=role]", "supervisor")
	admin.in(`function(){ const c = this.querySelector("form.new-agent input[name=capacity]"); c.value = "4"; }`, nil)
	admin.setChecked("form.new-agent input[name=auto_accept]", true)
	admin.setChecked(`form.new-agent input[name=teams][value="`+n.TeamID+`"]`, false)
	admin.setChecked(`form.new-agent input[name=teams][value="`+billing.ID+`"]`, true)
	admin.click("form.new-agent button[type=submit]")
	eventually("Dora created", func() bool { return dora().ID != "" })
	if d := dora(); d.Role != "supervisor" || d.Capacity != 4 || !d.AutoAccept || strings.Join(d.Teams, ",") != billing.ID {
		t.Fatalf("Dora as created: %+v", d)
	}
	doraAPI := &client.API{BaseURL: n.URL}
	if _, err := doraAPI.Login(ctx, "dora@example.com", apptest.Password); err != nil {
		t.Fatal(err)
	}

	// Change everything of her row: an agent of both teams, capacity 6, weight 150, no auto-accept.
	row := `tr[data-agent="dora@example.com"] `
	admin.waitFor("Dora's row", `function(r){ return !!this.querySelector(r + "input[name=capacity]"); }`, row)
	admin.in(`function(r){ const q = s => this.querySelector(r + s); q("select[name=role]").value = "agent"; q("input[name=capacity]").value = "6";
		q("input[name=weight]").value = "150"; }`, nil, row)
	admin.setChecked(row+"input[name=auto_accept]", false)
	admin.setChecked(row+`input[name=teams][value="`+n.TeamID+`"]`, true)
	admin.click(row + "button[type=submit]")
	eventually("Dora's changes", func() bool { d := dora(); return d.Role == "agent" && d.Capacity == 6 })
	if d := dora(); d.Role != "agent" || d.Capacity != 6 || d.Weight != 150 || d.AutoAccept || len(d.Teams) != 2 || d.Disabled {
		t.Fatalf("Dora after the changes: %+v", d)
	}
	// Her lists follow at once: the default team's conversations are hers to see now.
	_, conv := startAs(t, n, "Walk-in")
	var inbox struct {
		Conversations []struct {
			ID string `json:"id"`
		} `json:"conversations"`
	}
	if _, err := doraAPI.Do(ctx, http.MethodGet, "/api/v1/inbox?view=team", nil, &inbox); err != nil || len(inbox.Conversations) != 1 || inbox.Conversations[0].ID != conv {
		t.Fatalf("Dora's team list after joining the team: %+v %v", inbox, err)
	}
	// Disabled: her session stops working at once.
	admin.setChecked(row+"input[name=disabled]", true)
	admin.click(row + "button[type=submit]")
	eventually("Dora disabled", func() bool { return dora().Disabled })
	if _, err := doraAPI.Do(ctx, http.MethodGet, "/api/v1/auth/session", nil, nil); !strings.Contains(fmt.Sprint(err), "401") {
		t.Fatalf("a disabled agent's session: %v, want 401", err)
	}

	// Canned replies: the admin shares one, keeps one, edits the shared one, deletes their own.
	type reply struct {
		Shortcut string `json:"shortcut"`
		Body     string `json:"body"`
		Shared   bool   `json:"shared"`
	}
	replies := func(api *client.API) map[string]reply {
		t.Helper()
		var l struct {
			Replies []reply `json:"canned_replies"`
		}
		if _, err := api.Do(ctx, http.MethodGet, "/api/v1/canned-replies", nil, &l); err != nil {
			t.Fatal(err)
		}
		out := map[string]reply{}
		for _, r := range l.Replies {
			out[r.Shortcut] = r
		}
		return out
	}
	openPage(admin, "Canned replies")
	admin.fill("form.new-canned input[name=shortcut]", "greet")
	admin.fill("form.new-canned textarea[name=body]", "Hello! 您好！")
	admin.click("form.new-canned input[name=shared]")
	admin.click("form.new-canned button[type=submit]")
	eventually("the shared reply", func() bool { return replies(caraAPI)["greet"].Shared })
	admin.waitFor("the form emptied", `function(){ return this.querySelector("form.new-canned input[name=shortcut]").value === "" && !!this.querySelector('tr[data-canned="greet"]'); }`)
	admin.fill("form.new-canned input[name=shortcut]", "sig")
	admin.fill("form.new-canned textarea[name=body]", "Best regards")
	admin.click("form.new-canned button[type=submit]")
	eventually("the personal reply", func() bool { _, ok := replies(n.Admin)["sig"]; return ok })
	admin.waitFor("both replies listed", `function(){ return !!this.querySelector('tr[data-canned="greet"]') && !!this.querySelector('tr[data-canned="sig"]'); }`)
	admin.in(`function(){ const b = this.querySelector('tr[data-canned="greet"] textarea'); b.value = "Hello, how can we help? 您好，请问有什么可以帮您？"; }`, nil)
	admin.click(`tr[data-canned="greet"] button[type=submit]`)
	eventually("the shared reply edited", func() bool { return strings.HasPrefix(replies(caraAPI)["greet"].Body, "Hello, how") })
	admin.click(`tr[data-canned="sig"] button.delete`)
	admin.waitFor("the personal reply gone", `function(){ return !this.querySelector('tr[data-canned="sig"]'); }`)
	if r := replies(caraAPI); len(r) != 1 || !r["greet"].Shared || r["greet"].Body != "Hello, how can we help? 您好，请问有什么可以帮您？" {
		t.Fatalf("Cara's replies after the admin's changes: %+v", r)
	}
	if _, ok := replies(n.Admin)["sig"]; ok {
		t.Fatal("the deleted reply is still there")
	}

	// Cara, an agent: the shared reply is read-only for her; she adds and edits her own.
	cara := consoleLogin(t, browser, n.URL, "cara@example.com")
	openPage(cara, "Canned replies")
	cara.waitFor("the shared reply, read-only", `function(){ const r = this.querySelector('tr[data-canned="greet"]'); return !!r && !r.querySelector("input, textarea, button"); }`)
	var canShare bool
	cara.in(`function(){ return !!this.querySelector("form.new-canned input[name=shared]"); }`, &canShare)
	if canShare {
		t.Error("an agent is offered to share a reply")
	}
	cara.fill("form.new-canned input[name=shortcut]", "/wait")
	cara.fill("form.new-canned textarea[name=body]", "One moment please.")
	cara.click("form.new-canned button[type=submit]")
	eventually("Cara's reply", func() bool { return replies(caraAPI)["wait"].Body == "One moment please." })
	cara.waitFor("the form emptied", `function(){ return this.querySelector("form.new-canned input[name=shortcut]").value === "" && !!this.querySelector('tr[data-canned="wait"]'); }`)
	cara.fill("form.new-canned input[name=shortcut]", "wait")
	cara.fill("form.new-canned textarea[name=body]", "again")
	cara.click("form.new-canned button[type=submit]")
	cara.waitFor("the shortcut in use", `function(){ const n = this.querySelector(".notice"); return !!n && n.textContent === "That shortcut is in use already."; }`)
	cara.in(`function(){ this.querySelector('tr[data-canned="wait"] textarea').value = "One moment please, I am checking."; }`, nil)
	cara.click(`tr[data-canned="wait"] button[type=submit]`)
	eventually("Cara's reply edited", func() bool { return replies(caraAPI)["wait"].Body == "One moment please, I am checking." })
	if r := replies(caraAPI)["wait"]; r.Shared || r.Body != "One moment please, I am checking." {
		t.Fatalf("Cara's own reply: %+v", r)
	}
}

// The site form: an admin sets the pre-chat form (a required email, a department), business hours with a
// lunch break, a holiday and a closed message, and a queue limit; the site holds exactly that at once, the
// chat page shows the new form without a restart, and the change is audited. A wrong time zone is refused
// with the server's reason and changes nothing. A new site gets its own key and form.
func TestConsoleAdminSite(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	browser := testenv.Browser(t, "window-size", "1280,1400")
	admin := consoleLogin(t, browser, n.URL, "admin@example.com")
	admin.in(`function(){ [...this.querySelectorAll("header.top button")].find(b => b.textContent === "Admin").click(); }`, nil)
	form := `form.site[data-site="` + n.SiteKey + `"] `
	admin.waitFor("the site form", `function(sel){ return !!this.querySelector(sel + "input[name=time_zone]"); }`, form)
	set := func(name, value string) {
		t.Helper()
		admin.in(`function(sel, name, v){ const e = this.querySelector(sel + '[name="' + name + '"]'); e.value = v; e.dispatchEvent(new Event("input", {bubbles: true})); }`,
			nil, form, name, value)
	}
	// Real clicks for the choices.
	admin.click(form + "input[name=prechat]")
	admin.click(form + "input[name=ask_email]")
	admin.click(form + "input[name=require_email]")
	admin.click(form + `input[name="dept_` + n.TeamID + `"]`)
	set("dept_name_"+n.TeamID, "售后 After-sales")
	admin.click(form + "input[name=hours]")
	set("time_zone", "Asia/Shanghai")
	for _, d := range []string{"1", "2", "3", "4", "5"} { // Monday to Friday, 09:00–12:00 and 13:30–18:00
		admin.click(form + "input[name=day" + d + "]")
		set("close"+d+"_0", "12:00")
		set("open"+d+"_1", "13:30")
		set("close"+d+"_1", "18:00")
	}
	set("holidays", "2026-10-01\n2026-10-02")
	set("closed_message", "我们下班了，请留言。")
	set("max_queue_length", "5")
	admin.in(`function(sel){ this.querySelector(sel + "fieldset.prechat").scrollIntoView(); }`, nil, form)
	admin.screenshot("console-en-site")
	admin.click(form + "button[type=submit]")
	admin.waitFor("saved", `function(){ const n = this.querySelector(".notice"); return !!n && n.textContent === "Saved."; }`)

	site, err := n.App.Store.SiteByKey(ctx, n.SiteKey)
	if err != nil {
		t.Fatal(err)
	}
	s := site.Settings
	wantDays := []chat.OpenDays{}
	for d := 1; d <= 5; d++ {
		wantDays = append(wantDays, chat.OpenDays{Weekday: d, Open: "09:00", Close: "12:00"}, chat.OpenDays{Weekday: d, Open: "13:30", Close: "18:00"})
	}
	bh := s.Routing.BusinessHours
	switch {
	case !s.PreChat.Enabled || len(s.PreChat.Fields) != 1 || s.PreChat.Fields[0] != (chat.PreChatField{Name: "email", Required: true}):
		t.Fatalf("pre-chat fields: %+v", s.PreChat)
	case len(s.PreChat.Departments) != 1 || s.PreChat.Departments[0] != (chat.Department{TeamID: n.TeamID, Name: "售后 After-sales"}):
		t.Fatalf("departments: %+v", s.PreChat.Departments)
	case !bh.Enabled || bh.TimeZone != "Asia/Shanghai" || fmt.Sprint(bh.Days) != fmt.Sprint(wantDays):
		t.Fatalf("business hours: %+v", bh)
	case fmt.Sprint(bh.Holidays) != "[2026-10-01 2026-10-02]" || bh.ClosedMsg != "我们下班了，请留言。":
		t.Fatalf("holidays and closed message: %+v", bh)
	case s.Routing.MaxQueueLength != 5:
		t.Fatalf("routing: %+v", s.Routing)
	}
	// The chat page asks for the email and offers the department, without a restart.
	cust := newTab(t, browser, nil)
	cust.navigate(n.URL + "/chat/" + n.SiteKey)
	cust.attach("parley-chat")
	cust.waitFor("the new pre-chat form", `function(){ const s = this.querySelector("form.prechat select[name=department]");
		return !!this.querySelector("form.prechat input[name=email][required]") && !!s && [...s.options].some(o => o.textContent === "售后 After-sales"); }`)
	var audit struct {
		Entries []chat.AuditEntry `json:"entries"`
	}
	if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/audit?limit=20", nil, &audit); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(audit.Entries, func(e chat.AuditEntry) bool { return e.Action == "site.update" && e.TargetID == site.ID }) {
		t.Fatalf("no site.update in the audit log: %+v", audit.Entries)
	}

	// The form read back, in Chinese.
	admin.waitFor("the form read back", `function(sel){ return this.querySelector(sel + "input[name=time_zone]").value === "Asia/Shanghai"; }`, form)
	admin.in(`function(){ [...this.querySelectorAll("header.top button")].find(b => b.textContent === "中文").click(); }`, nil)
	admin.waitFor("the form in Chinese", `function(sel){ const l = this.querySelector(sel + "fieldset.hours legend"); return !!l && l.textContent === "工作时间"; }`, form)
	admin.in(`function(sel){ this.querySelector(sel + "fieldset.prechat").scrollIntoView(); }`, nil, form)
	admin.screenshot("console-zh-site")

	// A time zone that does not exist: the reason is shown, nothing changes (the form keeps the admin's input).
	set("time_zone", "Mars/Olympus")
	set("max_queue_length", "9")
	admin.click(form + "button[type=submit]")
	admin.waitFor("the refusal, in Chinese, naming the field", `function(){ const n = this.querySelector(".notice.error[role=alert]");
		return !!n && n.textContent.startsWith("未保存 — 时区：") && n.textContent.includes("Mars/Olympus"); }`)
	if after, err := n.App.Store.SiteByKey(ctx, n.SiteKey); err != nil || after.Settings.Routing.MaxQueueLength != 5 || after.Settings.Routing.BusinessHours.TimeZone != "Asia/Shanghai" {
		t.Fatalf("a refused change changed the site: %+v %v", after, err)
	}

	// A new site: its own form with its own key and embed code.
	admin.fill("form.new-site input[name=name]", "Second shop 二店")
	admin.click("form.new-site button[type=submit]")
	admin.waitFor("the new site's form", `function(){ return [...this.querySelectorAll("form.site h3")].some(h => h.textContent.startsWith("Second shop 二店")); }`)
	sites, err := n.App.Store.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var second *chat.Site
	for _, st := range sites {
		if st.Name == "Second shop 二店" {
			second = st
		}
	}
	if second == nil || second.WidgetKey == n.SiteKey || second.DefaultTeamID != n.TeamID {
		t.Fatalf("the new site: %+v", second)
	}
	var snippet string
	admin.in(`function(k){ return this.querySelector('form.site[data-site="' + k + '"] .snippet').value; }`, &snippet, second.WidgetKey)
	if !strings.Contains(snippet, `data-site="`+second.WidgetKey+`"`) || !strings.Contains(snippet, "/widget.js") {
		t.Fatalf("embed code %q", snippet)
	}
}
