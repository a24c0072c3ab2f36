package widgettest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/testenv"
)

// The console's pictures for the README, in English and Chinese: the inbox, a conversation, the admin page
// and the reports, over a working day's data (a week of history written straight into the database, as the
// report benchmark seeds it, and six customers talking now). Each page must show its own language.
//
//	PARLEY_WIDGET_SCREENSHOTS=$PWD/docs/screenshots go test -run TestConsoleScreenshots ./internal/widgettest/
func TestConsoleScreenshots(t *testing.T) {
	n := apptest.Start(t, "sqlite", apptest.Options{})
	ctx := context.Background()
	// The admin works the inbox too: auto-accept with three slots, so three customers wait.
	if _, err := n.Admin.Do(ctx, http.MethodPatch, "/api/v1/agents/me", map[string]any{"capacity": 3, "auto_accept": true}, nil); err != nil {
		t.Fatal(err)
	}
	var agents []string
	for _, a := range []struct{ email, name, role string }{{"lin@example.com", "林晓", "agent"}, {"omar@example.com", "Omar", "supervisor"}} {
		var rec struct {
			ID string `json:"id"`
		}
		if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": a.email, "name": a.name, "password": apptest.Password,
			"role": a.role, "teams": []string{n.TeamID}, "capacity": 4}, &rec); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, rec.ID)
	}
	seedWeek(t, n, agents)

	browser := testenv.Browser(t, "window-size", "1280,800")
	tb := consoleLogin(t, browser, n.URL, "admin@example.com")
	type customer struct {
		name, page, ua, loc string
		says                []string
	}
	const mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
	const win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49"
	people := []customer{
		{"Maria Lopez", "https://shop.example.com/orders/10245", mac, "Madrid, ES", []string{"Hi! My order #10245 hasn't arrived yet.", "It was due on Monday."}},
		{"王芳", "https://shop.example.com/zh/products/teapot", iphone, "上海", []string{"你好，这个茶壶有现货吗？"}},
		{"James Carter", "https://shop.example.com/checkout", win, "Leeds, GB", []string{"The payment page shows an error.", "Card ending 4242.", "Can you help?"}},
		{"陈伟", "https://shop.example.com/zh/account", iphone, "深圳", []string{"我想修改收货地址。"}},
		{"Sophie Martin", "https://shop.example.com/returns", mac, "Lyon, FR", []string{"How do I return a gift?"}},
		{"李娜", "https://shop.example.com/zh/orders", win, "北京", []string{"申请退款需要多久？", "谢谢！"}},
	}
	convs := map[string]string{}
	custs := map[string]*client.API{}
	for _, p := range people {
		cust := &client.API{BaseURL: n.URL}
		if _, err := cust.StartVisitor(ctx, client.Visitor{SiteKey: n.SiteKey, Name: p.name,
			Context: map[string]string{"page_url": p.page, "user_agent": p.ua, "location": p.loc}}); err != nil {
			t.Fatal(err)
		}
		conv, err := cust.StartConversation(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.says {
			if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), m, ""); err != nil {
				t.Fatal(err)
			}
		}
		convs[p.name], custs[p.name] = conv.ID, cust
		time.Sleep(20 * time.Millisecond) // distinct activity times: a stable order in the list
	}
	if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/canned-replies", map[string]any{"shortcut": "wait", "body": "One moment please, I'm checking.", "shared": true}, nil); err != nil {
		t.Fatal(err)
	}

	switchTo := func(lang string) {
		t.Helper()
		other := map[string]string{"zh-CN": "中文", "en": "English"}[lang]
		tb.in(`function(l){ [...this.querySelectorAll("header.top button")].find(b => b.textContent === l).click(); }`, nil, other)
		tb.waitFor("the console in "+lang, `function(l){ return document.documentElement.lang === l; }`, lang)
	}
	nav := func(i int) { // Inbox, Canned replies, Reports, Admin
		t.Helper()
		tb.click(fmt.Sprintf("header.top nav.pages button:nth-child(%d)", i))
	}
	// shows fails unless the page shows every one of words (its language).
	shows := func(words ...string) {
		t.Helper()
		var text string
		tb.in(`function(){ return document.body.innerText; }`, &text)
		for _, w := range words {
			if !strings.Contains(text, w) {
				t.Errorf("the page does not show %q:\n%s", w, text)
			}
		}
	}
	shot := func(name string) {
		t.Helper()
		time.Sleep(300 * time.Millisecond) // charts and fonts settle
		p := tb.screenshot(name)
		t.Logf("screenshot %s", filepath.Base(p))
	}

	// The inbox: My teams, six customers, three with the admin (unread counts), three waiting.
	tb.click("nav.inbox .tabs .tab:nth-child(3)")
	tb.waitFor("six conversations", `function(){ return this.querySelectorAll("nav.inbox .item[data-conv]").length === 6 &&
		this.querySelectorAll("nav.inbox .item .unread").length >= 3; }`)
	shows("My teams", "Maria Lopez", "Waiting", "Assigned")
	shot("console-en-inbox")
	switchTo("zh-CN")
	shows("我的团队", "王芳", "排队中", "已接入")
	shot("console-zh-inbox")
	switchTo("en")

	// A conversation: Maria's, answered, read by her, with an internal note.
	item := `[data-conv="` + convs["Maria Lopez"] + `"]`
	tb.click(item)
	tb.waitFor("Maria's messages", `function(){ return [...this.querySelectorAll(".log .msg.them .body")].some(b => b.textContent === "It was due on Monday."); }`)
	tb.click("form.composer textarea")
	tb.typeText("Sorry about that, Maria. Let me look it up.")
	tb.key("\r")
	reply := waitCustomerSees(t, custs["Maria Lopez"], convs["Maria Lopez"], "Sorry about that, Maria. Let me look it up.")
	if err := custs["Maria Lopez"].MarkRead(ctx, convs["Maria Lopez"], reply.Seq); err != nil {
		t.Fatal(err)
	}
	tb.click(".note-toggle input")
	tb.click("form.composer textarea")
	tb.typeText("Carrier shows it held at the Madrid depot: call them.")
	tb.key("\r")
	if _, err := custs["Maria Lopez"].PostMessage(ctx, convs["Maria Lopez"], client.NewID(), "Thank you!", ""); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("the read receipt and the customer's thanks", `function(){ return !!this.querySelector(".log .msg.me .state") &&
		[...this.querySelectorAll(".log .msg.them .body")].some(b => b.textContent === "Thank you!") && !!this.querySelector("aside.customer dl"); }`)
	tb.click("form.composer textarea")
	tb.typeText("/wa")
	tb.waitFor("the canned reply offered", `function(){ return !!this.querySelector(".canned li button"); }`)
	shows("Internal note", "Read", "Madrid, ES", "Previous conversations")
	shot("console-en-conversation")
	// In Chinese, 王芳's conversation: a reply typed through the input method.
	switchTo("zh-CN")
	tb.click(`[data-conv="` + convs["王芳"] + `"]`)
	tb.waitFor("王芳's message", `function(){ return [...this.querySelectorAll(".log .msg.them .body")].some(b => b.textContent === "你好，这个茶壶有现货吗？"); }`)
	// Maria's unsent draft ("/wa") stays with Maria.
	tb.waitFor("an empty composer for 王芳", `function(){ return this.querySelector("form.composer textarea").value === "" && !this.querySelector(".canned"); }`)
	tb.click("form.composer textarea")
	tb.typeText("您好！有现货，今天下单明天发货。")
	tb.key("\r")
	waitCustomerSees(t, custs["王芳"], convs["王芳"], "您好！有现货，今天下单明天发货。")
	if _, err := custs["王芳"].PostMessage(ctx, convs["王芳"], client.NewID(), "太好了，谢谢！", ""); err != nil {
		t.Fatal(err)
	}
	tb.waitFor("王芳's thanks", `function(){ return [...this.querySelectorAll(".log .msg.them .body")].some(b => b.textContent === "太好了，谢谢！") && !!this.querySelector("aside.customer dl"); }`)
	shows("我的团队", "上海", "历史会话", "网页")
	shot("console-zh-conversation")

	// The admin page and the reports, in Chinese and then in English.
	nav(4)
	tb.waitFor("the agents table", `function(){ return !!this.querySelector('tr[data-agent="lin@example.com"]'); }`)
	shows("客服", "接待上限", "自动接入", "站点")
	shot("console-zh-admin")
	nav(3)
	waitReport := func() {
		t.Helper()
		tb.waitFor("the report drawn", `function(){ const d = this.querySelector(".figures .total"); return !!d && Number(d.textContent) > 100 &&
			this.querySelectorAll(".chart canvas").length >= 4; }`)
	}
	waitReport()
	shows("报表", "每日会话数", "满意度")
	shot("console-zh-reports")
	switchTo("en")
	nav(4)
	tb.waitFor("the agents table", `function(){ return !!this.querySelector('tr[data-agent="lin@example.com"]'); }`)
	shows("Agents", "Capacity", "Auto-accept", "Sites")
	shot("console-en-admin")
	nav(3)
	waitReport()
	shows("Reports", "Conversations per day", "CSAT")
	shot("console-en-reports")
}

// seedWeek writes a week of closed conversations and their ratings into n's database: more on weekdays and
// in office hours, answered in under two minutes, closed within half an hour, rated mostly well.
func seedWeek(t *testing.T, n *apptest.Node, agents []string) {
	t.Helper()
	ctx := context.Background()
	site, err := n.App.Store.SiteByKey(ctx, n.SiteKey)
	if err != nil {
		t.Fatal(err)
	}
	history := &client.API{BaseURL: n.URL}
	vs, err := history.StartVisitor(ctx, client.Visitor{SiteKey: n.SiteKey, Name: "history"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(n.DataDir, "parley.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rnd := rand.New(rand.NewPCG(7, 7))
	day := 24 * time.Hour
	today := time.Now().UTC().Truncate(day)
	for d := 6; d >= 0; d-- {
		date := today.Add(-time.Duration(d) * day)
		count := 28 + rnd.IntN(14)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			count /= 2
		}
		for i := 0; i < count; i++ {
			hour := 8 + rnd.IntN(10)
			if rnd.IntN(5) == 0 {
				hour = rnd.IntN(24)
			}
			created := date.Add(time.Duration(hour)*time.Hour + time.Duration(rnd.IntN(3600))*time.Second)
			if created.After(time.Now().Add(-time.Hour)) {
				continue
			}
			agent := agents[rnd.IntN(len(agents))]
			assigned := created.Add(time.Duration(5+rnd.IntN(60)) * time.Second)
			first := assigned.Add(time.Duration(10+rnd.IntN(100)) * time.Second)
			closed := first.Add(time.Duration(3+rnd.IntN(27)) * time.Minute)
			id := uuid.Must(uuid.NewV7()).String()
			ms := func(t time.Time) int64 { return t.UnixMilli() }
			if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (id, site_id, customer_id, team_id, status, channel, priority, last_seq,
				created_at, updated_at, last_message_at, closed_at, queued_at, assigned_at, first_response_at, last_agent_id)
				VALUES (?, ?, ?, ?, 'closed', 'web', 0, 6, ?, ?, ?, ?, ?, ?, ?, ?)`, id, site.ID, vs.Customer.ID, n.TeamID,
				ms(created), ms(closed), ms(closed), ms(closed), ms(created), ms(assigned), ms(first), agent); err != nil {
				t.Fatal(err)
			}
			if rnd.IntN(3) == 0 {
				continue // not rated
			}
			score := []int{5, 5, 5, 4, 4, 4, 3, 2, 1}[rnd.IntN(9)]
			if _, err := tx.ExecContext(ctx, `INSERT INTO ratings (conversation_id, customer_id, agent_id, team_id, score, comment, created_at)
				VALUES (?, ?, ?, ?, ?, '', ?)`, id, vs.Customer.ID, agent, n.TeamID, score, ms(closed.Add(time.Minute))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
