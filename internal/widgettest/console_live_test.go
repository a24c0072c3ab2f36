package widgettest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/internal/testenv"
)

// The inbox applies live events in place: with two pages of conversations loaded, a message moves an old one
// to the top, a new conversation appears at the top, a closed one leaves — without reading the list again and
// without losing the second page. A reconnect merges what it missed and keeps the pages; only a reset (the
// store restored under a new epoch) reads the list afresh.
func TestConsoleInboxLive(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{Args: []string{"-customer-msg-burst", "100"}})
	ctx := context.Background()
	// The admin takes no conversations (capacity 0): they all wait, in Everyone's list.
	if _, err := n.Admin.Do(ctx, http.MethodPatch, "/api/v1/agents/me", map[string]any{"capacity": 0}, nil); err != nil {
		t.Fatal(err)
	}
	const total = 230
	customers := map[string]*client.API{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range total {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cust := &client.API{BaseURL: n.URL}
			if _, err := cust.StartVisitor(ctx, client.Visitor{SiteKey: n.SiteKey, Name: fmt.Sprintf("Customer %03d", i)}); err != nil {
				t.Error(err)
				return
			}
			conv, err := cust.StartConversation(ctx, "")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			customers[conv.ID] = cust
			mu.Unlock()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	browser := testenv.Browser(t, "window-size", "1280,860")
	sup := consoleLogin(t, browser, n.URL, "admin@example.com")
	sup.click(`nav.inbox .tabs .tab:nth-child(4)`) // Everyone
	count := func() int {
		var c int
		sup.in(`function(){ return this.querySelectorAll("nav.inbox .item[data-conv]").length; }`, &c)
		return c
	}
	waitCount := func(what string, want int) {
		t.Helper()
		sup.waitFor(what, `function(n){ return this.querySelectorAll("nav.inbox .item[data-conv]").length === n; }`, want)
	}
	waitCount("the first page", 200)
	sup.click("nav.inbox button.more")
	waitCount("both pages", total)
	// reads counts the console's requests begun since the events started: list pages (inbox?view=...) and
	// single conversations (inbox/{id}). (Requests begun before, such as the catch-up after the first
	// connection, may finish later: they do not count.)
	var since float64
	sup.in(`function(){ return performance.now(); }`, &since)
	reads := func() (pages, items int) {
		var r struct{ Pages, Items int }
		sup.in(`function(t){ const e = performance.getEntriesByType("resource").filter(x => x.startTime > t).map(x => x.name);
			return {Pages: e.filter(u => u.includes("/api/v1/inbox?")).length, Items: e.filter(u => /\/api\/v1\/inbox\/[0-9a-f-]{36}$/.test(u)).length}; }`, &r, since)
		return r.Pages, r.Items
	}

	// A message in the oldest conversation (the end of page 2) moves it to the top, with its unread count.
	ids := sup.listed()
	oldest := ids[len(ids)-1]
	if _, err := customers[oldest].PostMessage(ctx, oldest, client.NewID(), "Anyone there?", ""); err != nil {
		t.Fatal(err)
	}
	sup.waitFor("the old conversation at the top", `function(id){ const f = this.querySelector("nav.inbox .item[data-conv]");
		return !!f && f.dataset.conv === id && f.querySelector(".unread")?.textContent === "1"; }`, oldest)
	if c := count(); c != total {
		t.Fatalf("after a message the inbox lists %d conversations, want all %d still", c, total)
	}

	// A new conversation appears at the top.
	newCust, newConv := startAs(t, n, "Newest Nina")
	sup.waitFor("the new conversation at the top", `function(id){ const f = this.querySelector("nav.inbox .item[data-conv]"); return !!f && f.dataset.conv === id; }`, newConv)
	waitCount("one more", total+1)
	customers[newConv] = newCust

	// A conversation of page 2 closed by its customer leaves the list, and only it.
	ids = sup.listed()
	gone := ids[len(ids)-2]
	if _, err := customers[gone].CloseConversation(ctx, gone); err != nil {
		t.Fatal(err)
	}
	sup.waitFor("the closed conversation gone", `function(id){ return !this.querySelector('nav.inbox [data-conv="' + id + '"]'); }`, gone)
	if c := count(); c != total {
		t.Fatalf("after a close the inbox lists %d conversations, want %d", c, total)
	}
	pagesAfter, items := reads()
	if pagesAfter != 0 || items == 0 {
		t.Fatalf("during the events the console read %d list pages and %d single conversations: events must not read the list again",
			pagesAfter, items)
	}

	// Offline for a while: a message arrives meanwhile. Back online, it is at the top; both pages stay.
	ids = sup.listed()
	quiet := ids[len(ids)-1]
	sup.offline(true)
	sup.waitFor("the reconnecting notice", `function(){ return !!this.querySelector(".offline-note"); }`)
	if _, err := customers[quiet].PostMessage(ctx, quiet, client.NewID(), "Hello? 你好？", ""); err != nil {
		t.Fatal(err)
	}
	sup.offline(false)
	sup.waitFor("the message of the disconnection at the top", `function(id){ const f = this.querySelector("nav.inbox .item[data-conv]");
		return !this.querySelector(".offline-note") && !!f && f.dataset.conv === id; }`, quiet)
	if c := count(); c != total {
		t.Fatalf("after a reconnect the inbox lists %d conversations, want %d (the pages loaded kept)", c, total)
	}

	// The store restored (a new epoch): the positions mean nothing now, so the list is read afresh.
	addr := n.Server.Listener.Addr().String()
	n.Stop()
	st := storetest.OpenWith(t, store.Options{DataDir: n.DataDir, SQLiteSync: "FULL"})
	if _, err := st.RotateEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	apptest.Start(t, "sqlite", apptest.Options{DataDir: n.DataDir, Addr: addr})
	waitCount("the first page, read afresh", 200)
	sup.waitFor("more to load", `function(){ return !!this.querySelector("nav.inbox button.more"); }`)
}

// The composer's emoji picker, from the keyboard only: Enter opens it on the first emoji, the arrows move,
// Enter inserts at the cursor and gives the composer back, Escape closes; the customer receives the emoji.
func TestConsoleEmoji(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": "eve@example.com", "name": "Eve",
		"password": apptest.Password, "role": chat.RoleAgent, "teams": []string{n.TeamID}, "capacity": 3, "auto_accept": true}, nil); err != nil {
		t.Fatal(err)
	}
	browser := testenv.Browser(t, "window-size", "1280,860")
	tb := consoleLogin(t, browser, n.URL, "eve@example.com")
	cust, conv := startAs(t, n, "Emoji Emma")
	item := `[data-conv="` + conv + `"]`
	tb.waitFor("the conversation, assigned to Eve", `function(sel){ return !!this.querySelector(sel); }`, item)
	tb.click(item)
	tb.click("form.composer textarea")
	tb.typeText("Thanks ")
	focused := func() string {
		var s string
		tb.in(`function(){ const a = document.activeElement; return a ? (a.getAttribute("aria-label") || a.tagName) : ""; }`, &s)
		return s
	}
	tb.in(`function(){ this.querySelector("form.composer .emoji-button").focus(); }`, nil)
	tb.key("\r")
	tb.waitFor("the picker open on the first emoji", `function(){ const a = document.activeElement; return !!a && a.getAttribute("role") === "option" && a.dataset.i === "0"; }`)
	// Escape closes it and gives the button back; open again.
	tb.key(kb.Escape)
	tb.waitFor("the picker closed", `function(){ return !this.querySelector(".emoji-grid") && document.activeElement === this.querySelector(".emoji-button"); }`)
	tb.key(" ")
	tb.waitFor("the picker open again", `function(){ return document.activeElement?.dataset?.i === "0"; }`)
	// 👍 is the twelfth: one row down (8), then three to the right.
	tb.key(kb.ArrowDown)
	for range 3 {
		tb.key(kb.ArrowRight)
	}
	// The focus follows the arrows a frame later; the choice is made already (Enter takes it either way).
	deadline := time.Now().Add(5 * time.Second)
	for f := focused(); f != "thumbs up"; f = focused() {
		if time.Now().After(deadline) {
			t.Fatalf("the arrows led to %q, want thumbs up", f)
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.key("\r")
	tb.waitFor("the emoji inserted, the composer focused", `function(){ const b = this.querySelector("form.composer textarea");
		return b.value === "Thanks 👍" && document.activeElement === b && !this.querySelector(".emoji-grid"); }`)
	tb.key("\r")
	waitCustomerSees(t, cust, conv, "Thanks 👍")
}
