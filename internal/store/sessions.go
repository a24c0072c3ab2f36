package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

// CreateSession stores a new session record.
func (s *Store) CreateSession(ctx context.Context, se *chat.Session) error {
	var site sql.NullString
	if se.SiteID != "" {
		site = sql.NullString{String: se.SiteID, Valid: true}
	}
	return s.tx(ctx, "create session", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO sessions (token_hash, kind, principal_id, site_id, created_at, expires_at,
			last_used_at, user_agent, ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			se.TokenHash, string(se.Kind), se.PrincipalID, site, ms(se.CreatedAt), ms(se.ExpiresAt), ms(se.LastUsedAt),
			truncate(se.UserAgent, 255), truncate(se.IP, 45))
		return err
	})
}

// Session returns the session whose token hashes to hash. Absent and expired sessions are both NotFound.
func (s *Store) Session(ctx context.Context, hash []byte) (*chat.Session, error) {
	var se chat.Session
	var kind string
	var site sql.NullString
	var created, expires, used int64
	err := s.queryRow(ctx, `SELECT token_hash, kind, principal_id, site_id, created_at, expires_at, last_used_at,
		user_agent, ip FROM sessions WHERE token_hash = ?`, hash).Scan(&se.TokenHash, &kind, &se.PrincipalID, &site,
		&created, &expires, &used, &se.UserAgent, &se.IP)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("session")
	}
	if err != nil {
		return nil, s.wrap("read session", err)
	}
	se.Kind, se.SiteID = chat.PrincipalKind(kind), site.String
	se.CreatedAt, se.ExpiresAt, se.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
	if !s.now().Before(se.ExpiresAt) {
		return nil, chat.ErrNotFound("session")
	}
	return &se, nil
}

const customerSessionSQL = `SELECT s.token_hash, s.principal_id, s.site_id, s.created_at, s.expires_at, s.last_used_at,
	s.user_agent, s.ip, c.id, c.site_id, c.name, c.email, c.phone, c.context, c.created_at, c.updated_at
	FROM sessions s JOIN customers c ON c.id = s.principal_id WHERE s.token_hash = ? AND s.kind = ?`

// CustomerSession returns a live customer session and its customer in one read: customer authentication runs
// on every request of the widget, and on SQLite each separate read is its own read transaction (the first after
// another connection's commit reloads the connection's page cache). A missing or expired session, one of
// another kind, and a session whose customer is gone are all NotFound.
func (s *Store) CustomerSession(ctx context.Context, hash []byte) (*chat.Session, *chat.Customer, error) {
	var se chat.Session
	var c chat.Customer
	var site sql.NullString
	var created, expires, used, cCreated, cUpdated int64
	var ctxJSON string
	err := s.queryRow(ctx, customerSessionSQL, hash, string(chat.PrincipalCustomer)).Scan(&se.TokenHash, &se.PrincipalID, &site, &created, &expires, &used,
		&se.UserAgent, &se.IP, &c.ID, &c.SiteID, &c.Name, &c.Email, &c.Phone, &ctxJSON, &cCreated, &cUpdated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, chat.ErrNotFound("session")
	}
	if err != nil {
		return nil, nil, s.wrap("read customer session", err)
	}
	if err := json.Unmarshal([]byte(ctxJSON), &c.Context); err != nil {
		return nil, nil, s.wrap("read customer session", err)
	}
	se.Kind, se.SiteID = chat.PrincipalCustomer, site.String
	se.CreatedAt, se.ExpiresAt, se.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
	c.CreatedAt, c.UpdatedAt = fromMS(cCreated), fromMS(cUpdated)
	if !s.now().Before(se.ExpiresAt) {
		return nil, nil, chat.ErrNotFound("session")
	}
	return &se, &c, nil
}

// agentSessionSQL reads a session, its agent and the agent's teams in one statement: a row per team (one row
// with a NULL team for an agent in none), ordered as loadTeams orders them.
var agentSessionSQL = `SELECT s.token_hash, s.principal_id, s.created_at, s.expires_at, s.last_used_at, s.user_agent, s.ip, a.` +
	strings.ReplaceAll(agentCols, ", ", ", a.") + `, m.team_id
	FROM sessions s JOIN agents a ON a.id = s.principal_id LEFT JOIN team_members m ON m.agent_id = a.id
	WHERE s.token_hash = ? AND s.kind = ? ORDER BY m.team_id`

// AgentSession returns a live agent session and its agent with the agent's teams, in one read: agent
// authentication runs on every request of the console and the API, and on SQLite each separate read is a read
// transaction of its own, the first after another connection's commit reloading the connection's page cache
// (three reads cost ~430 µs of CPU a request in an S6 profile). A missing or expired session, one of another
// kind, and a session whose agent is gone are all NotFound; a disabled agent is returned as such.
func (s *Store) AgentSession(ctx context.Context, hash []byte) (*chat.Session, *chat.Agent, error) {
	rows, err := s.query(ctx, agentSessionSQL, hash, string(chat.PrincipalAgent))
	if err != nil {
		return nil, nil, s.wrap("read agent session", err)
	}
	defer rows.Close()
	var se chat.Session
	var a *chat.Agent
	for rows.Next() {
		var created, expires, used int64
		var team sql.NullString
		ag, err := scanAgentWith(rows, []any{&se.TokenHash, &se.PrincipalID, &created, &expires, &used, &se.UserAgent, &se.IP}, &team)
		if err != nil {
			return nil, nil, s.wrap("read agent session", err)
		}
		if a == nil {
			a = ag
			se.Kind = chat.PrincipalAgent
			se.CreatedAt, se.ExpiresAt, se.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
		}
		if team.Valid {
			a.Teams = append(a.Teams, team.String)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.wrap("read agent session", err)
	}
	if a == nil || !s.now().Before(se.ExpiresAt) {
		return nil, nil, chat.ErrNotFound("session")
	}
	return &se, a, nil
}

// TouchSession records that the session was used and moves its idle expiry, at most once a minute per session
// so that a busy client does not turn every request into a write. The write happens behind the request
// (sessionTouches): it returns at once, and se shows the new times.
func (s *Store) TouchSession(ctx context.Context, se *chat.Session, idle, absolute time.Duration) error {
	now := s.now()
	if now.Sub(se.LastUsedAt) < time.Minute {
		return nil
	}
	exp := now.Add(idle)
	if abs := se.CreatedAt.Add(absolute); exp.After(abs) {
		exp = abs
	}
	se.LastUsedAt, se.ExpiresAt = now, exp
	s.touches.add(se.TokenHash, now, exp)
	return nil
}

// DeleteSession revokes one session.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return s.tx(ctx, "delete session", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "DELETE FROM sessions WHERE token_hash = ?", hash)
		return err
	})
}

// DeleteSessionsOf revokes every session of a principal.
func (s *Store) DeleteSessionsOf(ctx context.Context, principalID string) error {
	return s.tx(ctx, "delete sessions", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "DELETE FROM sessions WHERE principal_id = ?", principalID)
		return err
	})
}

// PurgeExpiredSessions deletes sessions past their expiry, a bounded batch at a time, and says how many went.
func (s *Store) PurgeExpiredSessions(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, "purge sessions", func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "DELETE FROM sessions WHERE expires_at < ?", ms(s.now()))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// Audit appends an entry to the audit log. The log records security-relevant acts; it never holds message
// bodies, passwords or tokens.
func (s *Store) Audit(ctx context.Context, e chat.AuditEntry) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Detail == "" {
		e.Detail = "{}"
	}
	return s.tx(ctx, "audit", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, `INSERT INTO audit_log (id, at, actor_type, actor_id, action, target_type, target_id, ip, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id.String(), ms(e.At), e.ActorType, e.ActorID, e.Action, e.TargetType,
			truncate(e.TargetID, 64), truncate(e.IP, 45), e.Detail)
		return err
	})
}

// AuditLog returns up to limit entries older than the keyset cursor (before, beforeID), newest first. An empty
// cursor starts at the newest entry.
func (s *Store) AuditLog(ctx context.Context, before time.Time, beforeID string, limit int) ([]chat.AuditEntry, error) {
	q := "SELECT id, at, actor_type, actor_id, action, target_type, target_id, ip, detail FROM audit_log"
	args := []any{}
	if !before.IsZero() {
		q += " WHERE at < ? OR (at = ? AND id < ?)"
		args = append(args, ms(before), ms(before), beforeID)
	}
	q += " ORDER BY at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.wrap("read audit log", err)
	}
	defer rows.Close()
	var out []chat.AuditEntry
	for rows.Next() {
		var e chat.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorType, &e.ActorID, &e.Action, &e.TargetType, &e.TargetID, &e.IP, &e.Detail); err != nil {
			return nil, s.wrap("read audit log", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, s.wrap("read audit log", rows.Err())
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
