package store

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/google/uuid"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/testenv"
)

// planQuery is one query the store runs, as the store runs it (same column lists, same dialect predicates),
// with arguments that match seeded rows.
type planQuery struct {
	name string
	sql  string
	args []any
	// scanOK names tables this query may read in full (listing every agent, counting them). Never
	// conversations or messages: those grow without bound.
	scanOK []string
	// only restricts the query to one database ("sqlite", "mysql"); index, when set, must appear in the plan:
	// a range over the wrong index is no full scan but can read a whole conversation per row looked up.
	only, index string
	// ordered requires the rows to come off an index in the ORDER BY's order, cut at the LIMIT: no sort of
	// everything that matches ("Using filesort" on MySQL, "USE TEMP B-TREE FOR ORDER BY" on SQLite).
	ordered bool
}

// planFixture holds ids of seeded rows for the queries' arguments.
type planFixture struct {
	agentID, agentEmail, siteID, siteKey, teamID string
	tokenHash                                    []byte
	auditAt                                      time.Time
	auditID                                      string
	customerID, convID                           string
}

// unboundedTables may never be scanned, whatever a query says; for them a walk over a whole index counts as a
// full scan too.
var unboundedTables = []string{"conversations", "messages"}

// planQueries lists the queries whose plans are checked. Add a query here when you add one to the store.
func planQueries(s *Store, f planFixture) []planQuery {
	return []planQuery{
		// Sessions: every authenticated request.
		{name: "session by token", sql: `SELECT token_hash, kind, principal_id, site_id, created_at, expires_at, last_used_at,
			user_agent, ip FROM sessions WHERE token_hash = ?`, args: []any{f.tokenHash}},
		{name: "customer session with its customer", sql: customerSessionSQL, args: []any{f.tokenHash, "customer"}},
		{name: "agent session with its agent and teams", sql: agentSessionSQL, args: []any{f.tokenHash, "agent"}},
		{name: "touch session", sql: "UPDATE sessions SET last_used_at = ?, expires_at = ? WHERE token_hash = ?", args: []any{1, 2, f.tokenHash}},
		{name: "delete session", sql: "DELETE FROM sessions WHERE token_hash = ?", args: []any{f.tokenHash}},
		{name: "delete sessions of a principal", sql: "DELETE FROM sessions WHERE principal_id = ?", args: []any{f.agentID}},
		{name: "purge expired sessions", sql: "DELETE FROM sessions WHERE expires_at < ?", args: []any{ms(time.Now().Add(-time.Hour))}},

		// Agents and teams.
		{name: "agent by id", sql: "SELECT " + agentCols + " FROM agents WHERE id = ?", args: []any{f.agentID}},
		{name: "agent by e-mail", sql: "SELECT " + agentCols + " FROM agents WHERE email = ?", args: []any{f.agentEmail}},
		{name: "lock agent", sql: "SELECT " + agentCols + " FROM agents WHERE id = ?" + s.d.forUpdate(), args: []any{f.agentID}},
		{name: "set presence", sql: "UPDATE agents SET presence = ?, last_seen = ? WHERE id = ?", args: []any{"online", 1, f.agentID}},
		{name: "teams of an agent", sql: "SELECT agent_id, team_id FROM team_members WHERE agent_id = ? ORDER BY team_id", args: []any{f.agentID}},
		{name: "delete memberships", sql: "DELETE FROM team_members WHERE agent_id = ?", args: []any{f.agentID}},
		{name: "team exists", sql: "SELECT 1 FROM teams WHERE id = ?", args: []any{f.teamID}},
		{name: "list agents", sql: "SELECT " + agentCols + " FROM agents ORDER BY email", scanOK: []string{"agents"}},
		{name: "count agents", sql: "SELECT count(*) FROM agents", scanOK: []string{"agents"}},
		{name: "all memberships", sql: "SELECT agent_id, team_id FROM team_members ORDER BY team_id", scanOK: []string{"team_members"}},
		{name: "list teams", sql: "SELECT id, name, created_at FROM teams ORDER BY name, id", scanOK: []string{"teams"}},

		// Sites: every widget load and visitor session looks one up by its key.
		{name: "site by key", sql: "SELECT " + siteCols + " FROM sites WHERE widget_key = ?", args: []any{f.siteKey}},
		{name: "site by id", sql: "SELECT " + siteCols + " FROM sites WHERE id = ?", args: []any{f.siteID}},
		{name: "list sites", sql: "SELECT " + siteCols + " FROM sites ORDER BY name, id", scanOK: []string{"sites"}},

		// Audit log: keyset pages, newest first.
		{name: "audit log first page", sql: "SELECT id, at, actor_type, actor_id, action, target_type, target_id, ip, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT ?",
			args: []any{50}},
		{name: "audit log next page", sql: "SELECT id, at, actor_type, actor_id, action, target_type, target_id, ip, detail FROM audit_log WHERE at < ? OR (at = ? AND id < ?) ORDER BY at DESC, id DESC LIMIT ?",
			args: []any{ms(f.auditAt), ms(f.auditAt), f.auditID, 50}},

		// Conversations and messages (the messaging core adds its queries here).
		{name: "conversation by id", sql: "SELECT " + convCols + " FROM conversations WHERE id = ?", args: []any{f.convID}},
		{name: "open conversation of a customer", sql: "SELECT " + convCols + " FROM conversations WHERE site_id = ? AND customer_id = ? AND " + s.d.openPredicate(),
			args: []any{f.siteID, f.customerID}},
		{name: "conversations of a customer", sql: "SELECT " + convCols + " FROM conversations WHERE customer_id = ? ORDER BY created_at DESC LIMIT ?",
			args: []any{f.customerID, 20}},
		{name: "messages after a cursor", sql: "SELECT " + msgCols + " FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT 128",
			args: []any{f.convID, 0}},
		{name: "messages before a cursor", sql: "SELECT " + msgCols + " FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT 128",
			args: []any{f.convID, 5}},
		{name: "events after a cursor", sql: "SELECT stream, seq, kind, conversation_id, payload, created_at FROM events WHERE stream = ? AND seq > ? ORDER BY seq LIMIT 256",
			args: []any{"team:" + f.teamID, 0}, ordered: true},
		{name: "latest messages", sql: "SELECT " + msgCols + " FROM messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT 128",
			args: []any{f.convID}},

		{name: "message by client id (SQLite group commit)", sql: liteKeySQL, args: []any{f.convID, "c-1"}, only: "sqlite", index: "messages_client"},
		{name: "messages by client ids (MySQL group commit)", sql: "SELECT " + msgCols + " FROM messages FORCE INDEX (messages_client) WHERE (conversation_id = ? AND client_msg_id IN (?, ?)) OR (conversation_id = ? AND client_msg_id IN (?))",
			args: []any{f.convID, "c-1", "c-2", "x", "c-3"}, only: "mysql", index: "messages_client"},

		// Search (store/search.go).
		{name: "messages to index", sql: "SELECT conversation_id, seq, id, type, body, deleted_at FROM messages WHERE id > ? ORDER BY id LIMIT 500",
			args: []any{"01a23000-0000-0000-0000-000000000000"}},
		{name: "search terms", sql: "SELECT conversation_id, seq FROM search_terms WHERE term IN (?, ?) GROUP BY conversation_id, seq HAVING count(*) = ? ORDER BY conversation_id DESC, seq DESC LIMIT ?",
			args: []any{"退款", "refund", 2, 1000}},
		{name: "message at a seq", sql: "SELECT " + msgCols + " FROM messages WHERE conversation_id = ? AND seq = ?", args: []any{f.convID, 1}},
		{name: "canned replies of an agent", sql: "SELECT " + cannedCols + " FROM canned_replies WHERE agent_id = ? ORDER BY shortcut LIMIT 500", args: []any{f.agentID}},
		{name: "shared canned replies", sql: "SELECT " + cannedCols + " FROM canned_replies WHERE agent_id IS NULL ORDER BY shortcut LIMIT 500"},
		{name: "canned reply by id", sql: "SELECT " + cannedCols + " FROM canned_replies WHERE id = ?", args: []any{"x"}},
		{name: "canned shortcut taken", sql: "SELECT count(*) FROM canned_replies WHERE agent_id = ? AND shortcut = ? AND id <> ?", args: []any{f.agentID, "hi", "x"}},
		{name: "shared canned shortcut taken", sql: "SELECT count(*) FROM canned_replies WHERE agent_id IS NULL AND shortcut = ? AND id <> ?", args: []any{"hi", "x"}},
		{name: "update canned reply", sql: "UPDATE canned_replies SET shortcut = ?, body = ?, updated_at = ? WHERE id = ?", args: []any{"hi", "b", 1, "x"}},

		// Inbox pages (store/routing.go Inbox).
		{name: "open conversations by activity, a later page", sql: "SELECT " + convCols + " FROM conversations WHERE status = ? AND (last_message_at < ? OR (last_message_at = ? AND id < ?)) ORDER BY last_message_at DESC, id DESC LIMIT ?",
			args: []any{"assigned", 1_500_000, 1_500_000, f.convID, 200}},
		{name: "a team's conversations by activity, a later page", sql: "SELECT " + convCols + " FROM conversations WHERE team_id = ? AND status = ? AND (last_message_at < ? OR (last_message_at = ? AND id < ?)) ORDER BY last_message_at DESC, id DESC LIMIT ?",
			args: []any{f.teamID, "assigned", 1_500_000, 1_500_000, f.convID, 200}},
		// Filters (status, team, channel): closed conversations are the whole history, so they must be read
		// off an index in order, never sorted.
		{name: "a team's closed conversations by activity", sql: "SELECT " + convCols + " FROM conversations WHERE team_id = ? AND status = ? ORDER BY closed_activity_at DESC, id DESC LIMIT ?",
			args: []any{f.teamID, "closed", 200}, index: "conversations_team_activity", ordered: true},
		{name: "a team's closed conversations of a channel by activity, a later page", sql: "SELECT " + convCols + " FROM conversations WHERE team_id = ? AND status = ? AND channel = ? AND (closed_activity_at < ? OR (closed_activity_at = ? AND id < ?)) ORDER BY closed_activity_at DESC, id DESC LIMIT ?",
			args: []any{f.teamID, "closed", "web", 1_502_000, 1_502_000, f.convID, 200}, index: "conversations_team_activity", ordered: true},
		{name: "closed conversations of a channel by activity", sql: "SELECT " + convCols + " FROM conversations WHERE status = ? AND channel = ? ORDER BY closed_activity_at DESC, id DESC LIMIT ?",
			args: []any{"closed", "web", 200}, index: "conversations_activity", ordered: true},
		{name: "closed conversations by activity, a later page", sql: "SELECT " + convCols + " FROM conversations WHERE status = ? AND (closed_activity_at < ? OR (closed_activity_at = ? AND id < ?)) ORDER BY closed_activity_at DESC, id DESC LIMIT ?",
			args: []any{"closed", 1_502_000, 1_502_000, f.convID, 200}, index: "conversations_activity", ordered: true},
		{name: "a team's queue in one state and channel", sql: "SELECT " + convCols + " FROM conversations WHERE team_id = ? AND status = ? AND channel = ? ORDER BY priority DESC, queued_at, id LIMIT ?",
			args: []any{f.teamID, "pending", "web", 200}},

		// Reports (store/reports.go).
		{name: "conversations started in a range", sql: `SELECT created_at, first_response_at, closed_at, assigned_at, COALESCE(agent_id, last_agent_id, ''), COALESCE(team_id, '')
			FROM conversations WHERE created_at >= ? AND created_at < ? ORDER BY created_at LIMIT ?`, args: []any{1_000_000, 1_000_500, 200000}},
		{name: "ratings in a range", sql: "SELECT score FROM ratings WHERE created_at >= ? AND created_at < ? ORDER BY created_at LIMIT ?", args: []any{1, 2, 200000}},

		// Routing (store/routing.go).
		{name: "team queue", sql: "SELECT " + convCols + " FROM conversations WHERE team_id = ? AND status = 'queued' ORDER BY priority DESC, queued_at, id LIMIT ?",
			args: []any{f.teamID, 50}},
		{name: "queue positions", sql: "SELECT id FROM conversations WHERE team_id = ? AND status = 'queued' ORDER BY priority DESC, queued_at, id LIMIT ?",
			args: []any{f.teamID, 1000}},
		{name: "queue position of one", sql: queuePositionSQL, args: []any{f.teamID, 0, f.teamID, 0, 1, f.teamID, 0, 1, f.convID},
			index: "conversations_queue"},
		{name: "queued ahead of a new one", sql: "SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued' AND priority >= ?",
			args: []any{f.teamID, 0}, index: "conversations_queue"},
		{name: "queue length", sql: "SELECT count(*) FROM conversations WHERE team_id = ? AND status = 'queued'", args: []any{f.teamID}},
		{name: "expired offers", sql: "SELECT id, offered_to FROM conversations WHERE status = 'offered' AND offer_expires_at <= ? LIMIT ?", args: []any{1, 200}},
		{name: "overdue queued", sql: "SELECT " + convCols + " FROM conversations WHERE team_id = ? AND status = 'queued' AND queued_at < ? ORDER BY priority DESC, queued_at LIMIT 100",
			args: []any{f.teamID, 1}},
		{name: "inactive conversations", sql: "SELECT " + convCols + " FROM conversations WHERE status = ? AND last_message_at < ? ORDER BY last_message_at LIMIT ?",
			args: []any{"assigned", 1, 200}},
		{name: "handling times", sql: "SELECT closed_at, assigned_at FROM conversations WHERE team_id = ? AND closed_at > 0 ORDER BY closed_at DESC LIMIT 50",
			args: []any{f.teamID}},
		{name: "assigned to an agent", sql: "SELECT " + convCols + " FROM conversations WHERE agent_id = ? AND status = 'assigned' ORDER BY last_message_at DESC LIMIT ?",
			args: []any{f.agentID, 200}},
		{name: "offered to an agent", sql: "SELECT " + convCols + " FROM conversations WHERE status = 'offered' AND offered_to = ? LIMIT ?",
			args: []any{f.agentID, 200}},
		{name: "team state counts", sql: "SELECT count(*) FROM conversations WHERE team_id = ? AND status = ?", args: []any{f.teamID, "pending"}},
		{name: "oldest waiting", sql: "SELECT min(queued_at) FROM conversations WHERE team_id = ? AND status IN ('queued', 'offered')", args: []any{f.teamID}},
		{name: "last offer let go", sql: `SELECT agent_id FROM offers WHERE conversation_id = ? AND outcome IN ('declined', 'expired')
			AND created_at >= ? ORDER BY created_at DESC, id DESC LIMIT 1`, args: []any{f.convID, 1}},
	}
}

// TestQueryPlans reads the plan of every query in planQueries on both databases, with enough rows that the
// optimizer chooses as it would in production, and fails on a full scan.
func TestQueryPlans(t *testing.T) {
	for _, kind := range []string{"sqlite", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			s := openForPlans(t, kind)
			rows := 100_000
			if kind == "sqlite" {
				rows = 2_000
			}
			f := seedForPlans(t, s, rows)
			checkPlans(t, s, planQueries(s, f))
		})
	}
}

// TestPlanCheckerCatchesScans makes sure the checker itself fails where it must: a query by an unindexed
// column of messages is a full scan on both databases.
func TestPlanCheckerCatchesScans(t *testing.T) {
	for _, kind := range []string{"sqlite", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			s := openForPlans(t, kind)
			seedForPlans(t, s, 1000)
			for _, q := range []planQuery{
				{name: "by body", sql: "SELECT seq FROM messages WHERE body = ?", args: []any{"hello"}},
				{name: "by sender", sql: "SELECT id FROM conversations WHERE channel = ?", args: []any{"web"}},
				{name: "allowed but unbounded", sql: "SELECT count(*) FROM messages", scanOK: []string{"messages"}},
			} {
				scans, plan, err := fullScans(s, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(scans) == 0 {
					t.Errorf("%s: the checker saw no full scan in\n%s", q.name, plan)
				}
			}
		})
	}
}

func openForPlans(t *testing.T, kind string) *Store {
	t.Helper()
	o := Options{DataDir: t.TempDir(), Migrate: true}
	if kind == "mysql" {
		o.MySQLDSN = testenv.FreshMySQL(t)
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seedForPlans inserts a realistic spread of rows: many sessions, auditRows audit entries (a multiple of
// 1,000), a few dozen agents and sites, conversations over several customers. Then it refreshes the optimizer's statistics.
func seedForPlans(t *testing.T, s *Store, auditRows int) planFixture {
	t.Helper()
	ctx := context.Background()
	var f planFixture
	team, err := s.CreateTeam(ctx, "Support")
	if err != nil {
		t.Fatal(err)
	}
	f.teamID = team.ID
	now := time.Now()
	for i := 0; i < 30; i++ {
		a := &chat.Agent{Email: fmt.Sprintf("agent%02d@example.com", i), Name: "A", Role: chat.RoleAgent, Capacity: 5,
			Weight: 100, PasswordHash: "x", Teams: []string{team.ID}}
		if err := s.CreateAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
		f.agentID, f.agentEmail = a.ID, a.Email
	}
	for i := 0; i < 20; i++ {
		st := &chat.Site{Name: fmt.Sprintf("site %d", i), WidgetKey: fmt.Sprintf("site_key%04d", i), Secret: "s", DefaultTeamID: team.ID}
		if err := s.CreateSite(ctx, st); err != nil {
			t.Fatal(err)
		}
		f.siteID, f.siteKey = st.ID, st.WidgetKey
	}
	err = s.tx(ctx, "seed", func(tx *sql.Tx) error {
		for i := 0; i < 300; i++ {
			hash := []byte(fmt.Sprintf("%032d", i))
			_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, kind, principal_id, site_id, created_at, expires_at,
				last_used_at, user_agent, ip) VALUES (?, 'agent', ?, NULL, ?, ?, ?, '', '')`, hash, fmt.Sprintf("agent-%d", i%30),
				ms(now), ms(now.Add(time.Duration(i)*time.Minute)), ms(now))
			if err != nil {
				return err
			}
			f.tokenHash = hash
		}
		// The audit log grows for ever. MariaDB needs a realistic size: with only a few thousand entries it
		// prefers a filesort over the whole table to reading 50 entries off the index backwards; at 100,000 it
		// reads the index. SQLite plans the same at any size, and inserting there is slow under -race.
		const batch = 1000
		batches := auditRows / batch
		for b := 0; b < batches; b++ {
			var q strings.Builder
			q.WriteString("INSERT INTO audit_log (id, at, actor_type, actor_id, action, target_type, target_id, ip, detail) VALUES ")
			args := make([]any, 0, batch*3)
			for i := b * batch; i < (b+1)*batch; i++ {
				if i > b*batch {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, 'agent', ?, 'login', 'agent', '', '', '{}')")
				id, at := fmt.Sprintf("audit-%06d", i), now.Add(time.Duration(i)*time.Second)
				args = append(args, id, ms(at), fmt.Sprintf("agent-%d", i%30))
				if i == batch*batches/2 {
					f.auditAt, f.auditID = at, id
				}
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		c, _, err := s.CreateCustomer(ctx, &chat.Customer{SiteID: f.siteID, Name: fmt.Sprintf("客户 %d", i)}, "", "")
		if err != nil {
			t.Fatal(err)
		}
		conv, _, _, err := s.StartConversation(ctx, StartInput{SiteID: f.siteID, CustomerID: c.ID, TeamID: team.ID, Channel: chat.ChannelWeb})
		if err != nil {
			t.Fatal(err)
		}
		f.customerID, f.convID = c.ID, conv.ID
	}
	// History: most conversations of a real deployment are closed, over several teams. The queue's queries
	// must stay on their index however many there are; a team's list of closed ones must not read the others'.
	others := []string{team.ID}
	for i := 0; i < 4; i++ {
		tm, err := s.CreateTeam(ctx, fmt.Sprintf("Team %d", i))
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, tm.ID)
	}
	closed := auditRows / 20 * len(others)
	err = s.tx(ctx, "seed closed conversations", func(tx *sql.Tx) error {
		const batch = 500
		for b := 0; b < closed; b += batch {
			var q strings.Builder
			q.WriteString(`INSERT INTO conversations (id, site_id, customer_id, team_id, agent_id, status, channel, priority, last_seq,
				created_at, updated_at, last_message_at, closed_at, queued_at, assigned_at, closed_activity_at) VALUES `)
			var args []any
			for i := b; i < min(b+batch, closed); i++ {
				if i > b {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, 'web', 0, 0, ?, ?, ?, ?, ?, ?, ?)")
				id, _ := uuid.NewV7()
				args = append(args, id.String(), f.siteID, f.customerID, others[i%len(others)], f.agentID, "closed",
					int64(1_000_000+i), int64(1_000_000+i), int64(1_500_000+i), int64(2_000_000+i), int64(1_000_000+i), int64(1_000_100+i), int64(1_500_000+i))
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	analyze := []string{"ANALYZE"}
	if s.d.name() == "mysql" {
		analyze = []string{"ANALYZE TABLE sessions, agents, team_members, teams, sites, audit_log, customers, conversations, messages"}
	}
	for _, q := range analyze {
		rows, err := s.w.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rows.Close()
	}
	return f
}

// checkPlans fails the test for every query that reads a table in full (other than its scanOK tables) or
// that cannot be planned at all.
func checkPlans(t *testing.T, s *Store, queries []planQuery) {
	t.Helper()
	for _, q := range queries {
		if q.only != "" && q.only != s.d.name() {
			continue
		}
		scans, plan, err := fullScans(s, q)
		if err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		// The index the plan reads: MySQL's key column (possible_keys lists the candidates), SQLite's "INDEX x".
		if q.index != "" && !strings.Contains(plan, "key="+q.index+" ") && !strings.Contains(plan, "INDEX "+q.index+" ") {
			t.Errorf("%s: the plan does not use %s on %s:\n%s", q.name, q.index, s.d.name(), plan)
		}
		if q.ordered && (strings.Contains(plan, "Using filesort") || strings.Contains(plan, "USE TEMP B-TREE FOR ORDER BY")) {
			t.Errorf("%s: sorts every matching row on %s instead of reading them off an index in order:\n%s", q.name, s.d.name(), plan)
		}
		if len(scans) > 0 {
			t.Errorf("%s: full scan of %s on %s:\n%s\nquery: %s", q.name, strings.Join(scans, ", "), s.d.name(), plan, oneLine(q.sql))
		} else if testing.Verbose() {
			t.Logf("%s:\n%s", q.name, plan)
		}
	}
}

// fullScans explains q and returns the tables it reads in full (minus those it may), and the plan as text.
func fullScans(s *Store, q planQuery) (scans []string, plan string, err error) {
	ctx := context.Background()
	var tables []string
	if s.d.name() == "sqlite" {
		tables, plan, err = sqlitePlan(ctx, s.r, q)
	} else {
		tables, plan, err = mysqlPlan(ctx, s.r, q)
	}
	for _, tb := range tables {
		if !slices.Contains(q.scanOK, tb) || slices.Contains(unboundedTables, tb) {
			scans = append(scans, tb)
		}
	}
	return scans, plan, err
}

// sqliteScanRe matches a plan line that reads a table without an index: "SCAN messages", but not
// "SCAN messages USING INDEX x" nor "SEARCH ...". sqliteIndexScanRe matches a walk over a whole index, which
// is a full scan too for the unbounded tables.
var (
	sqliteScanRe      = regexp.MustCompile(`^SCAN (\w+)(?: AS \w+)?$`)
	sqliteIndexScanRe = regexp.MustCompile(`^SCAN (\w+)(?: AS \w+)? USING (?:COVERING )?INDEX`)
)

func sqlitePlan(ctx context.Context, db *sql.DB, q planQuery) ([]string, string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var tables []string
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, "", err
		}
		fmt.Fprintf(&b, "  %s\n", detail)
		if m := sqliteScanRe.FindStringSubmatch(detail); m != nil {
			tables = append(tables, m[1])
		} else if m := sqliteIndexScanRe.FindStringSubmatch(detail); m != nil && slices.Contains(unboundedTables, m[1]) {
			tables = append(tables, m[1])
		}
	}
	return tables, b.String(), rows.Err()
}

func mysqlPlan(ctx context.Context, db *sql.DB, q planQuery) ([]string, string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN "+q.sql, q.args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, "", err
	}
	var tables []string
	var b strings.Builder
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, "", err
		}
		row := map[string]string{}
		for i, c := range cols {
			row[c] = vals[i].String
			fmt.Fprintf(&b, "%s=%s ", c, vals[i].String)
		}
		b.WriteString("\n")
		// type=ALL reads every row of the table; type=index every entry of an index, as bad for the unbounded
		// tables.
		if row["type"] == "ALL" || (row["type"] == "index" && slices.Contains(unboundedTables, row["table"])) {
			tables = append(tables, row["table"])
		}
	}
	return tables, b.String(), rows.Err()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
