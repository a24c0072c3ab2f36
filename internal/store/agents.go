package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

const agentCols = "id, email, name, password_hash, role, capacity, auto_accept, weight, presence, last_seen, disabled_at, created_at, updated_at, slots_used, availability, last_assigned_at"

type rowScanner interface{ Scan(dest ...any) error }

func scanAgent(r rowScanner) (*chat.Agent, error) { return scanAgentWith(r, nil) }

// scanAgentWith scans a row of the columns before, then agentCols, then after.
func scanAgentWith(r rowScanner, before []any, after ...any) (*chat.Agent, error) {
	var a chat.Agent
	var role, presence, availability string
	var lastSeen, created, updated, lastAssigned int64
	var autoAccept int
	var disabled sql.NullInt64
	dest := append(before, &a.ID, &a.Email, &a.Name, &a.PasswordHash, &role, &a.Capacity, &autoAccept, &a.Weight,
		&presence, &lastSeen, &disabled, &created, &updated, &a.SlotsUsed, &availability, &lastAssigned)
	if err := r.Scan(append(dest, after...)...); err != nil {
		return nil, err
	}
	a.Role, a.Presence, a.Availability = chat.Role(role), chat.Presence(presence), chat.Presence(availability)
	a.LastAssignedAt = fromMS(lastAssigned)
	a.AutoAccept = autoAccept != 0
	a.Disabled = disabled.Valid
	a.LastSeen, a.CreatedAt, a.UpdatedAt = fromMS(lastSeen), fromMS(created), fromMS(updated)
	a.Teams = []string{}
	return &a, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateAgent inserts a new agent, filling ID and timestamps. An e-mail already in use is a Conflict.
func (s *Store) CreateAgent(ctx context.Context, a *chat.Agent) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := s.now()
	a.ID, a.CreatedAt, a.UpdatedAt = id.String(), now, now
	a.Email = strings.ToLower(a.Email)
	if a.Presence == "" {
		a.Presence = chat.PresenceOffline
	}
	err = s.tx(ctx, "create agent", func(tx *sql.Tx) error {
		if a.Availability == "" {
			a.Availability = chat.PresenceOnline
		}
		_, err := s.exec(ctx, tx, "INSERT INTO agents ("+agentCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, 0, ?, 0)",
			a.ID, a.Email, a.Name, a.PasswordHash, string(a.Role), a.Capacity, b2i(a.AutoAccept), a.Weight,
			string(a.Presence), ms(now), ms(now), ms(now), string(a.Availability))
		if s.d.isDuplicate(err) {
			return chat.Errorf(chat.CodeConflict, "an agent with the e-mail %s already exists", a.Email)
		}
		if err != nil {
			return err
		}
		return s.setTeams(ctx, tx, a.ID, a.Teams)
	})
	return err
}

func (s *Store) setTeams(ctx context.Context, tx *sql.Tx, agentID string, teams []string) error {
	if teams == nil {
		return nil
	}
	if _, err := s.exec(ctx, tx, "DELETE FROM team_members WHERE agent_id = ?", agentID); err != nil {
		return err
	}
	for _, t := range teams {
		var one int
		err := s.queryRowTx(ctx, tx, "SELECT 1 FROM teams WHERE id = ?", t).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return chat.Invalid("teams", "team %q does not exist", t)
		}
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, "INSERT INTO team_members (team_id, agent_id) VALUES (?, ?)", t, agentID); err != nil {
			return err
		}
	}
	return nil
}

// Agent returns the agent with id, with its teams.
func (s *Store) Agent(ctx context.Context, id string) (*chat.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, "SELECT "+agentCols+" FROM agents WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("agent")
	}
	if err != nil {
		return nil, s.wrap("read agent", err)
	}
	return a, s.loadTeams(ctx, []*chat.Agent{a})
}

// AgentByEmail returns the agent with that e-mail (case-insensitive).
func (s *Store) AgentByEmail(ctx context.Context, email string) (*chat.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, "SELECT "+agentCols+" FROM agents WHERE email = ?", strings.ToLower(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("agent")
	}
	if err != nil {
		return nil, s.wrap("read agent", err)
	}
	return a, s.loadTeams(ctx, []*chat.Agent{a})
}

// Agents lists every agent ordered by e-mail.
func (s *Store) Agents(ctx context.Context) ([]*chat.Agent, error) {
	rows, err := s.query(ctx, "SELECT "+agentCols+" FROM agents ORDER BY email")
	if err != nil {
		return nil, s.wrap("list agents", err)
	}
	defer rows.Close()
	var out []*chat.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, s.wrap("list agents", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list agents", err)
	}
	return out, s.loadTeams(ctx, out)
}

// CountAgents returns how many agents exist (enabled or not).
func (s *Store) CountAgents(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT count(*) FROM agents").Scan(&n)
	return n, s.wrap("count agents", err)
}

func (s *Store) loadTeams(ctx context.Context, agents []*chat.Agent) error {
	if len(agents) == 0 {
		return nil
	}
	byID := make(map[string]*chat.Agent, len(agents))
	for _, a := range agents {
		byID[a.ID] = a
	}
	var rows *sql.Rows
	var err error
	if len(agents) == 1 {
		rows, err = s.query(ctx, "SELECT agent_id, team_id FROM team_members WHERE agent_id = ? ORDER BY team_id", agents[0].ID)
	} else {
		rows, err = s.query(ctx, "SELECT agent_id, team_id FROM team_members ORDER BY team_id")
	}
	if err != nil {
		return s.wrap("read teams", err)
	}
	defer rows.Close()
	for rows.Next() {
		var aid, tid string
		if err := rows.Scan(&aid, &tid); err != nil {
			return s.wrap("read teams", err)
		}
		if a := byID[aid]; a != nil {
			a.Teams = append(a.Teams, tid)
		}
	}
	return s.wrap("read teams", rows.Err())
}

// AgentPatch changes some fields of an agent; nil fields stay as they are.
type AgentPatch struct {
	Name         *string
	Role         *chat.Role
	Capacity     *int
	AutoAccept   *bool
	Weight       *int
	Disabled     *bool
	Teams        []string // nil = unchanged; empty = no team
	PasswordHash *string
}

// UpdateAgent applies p to the agent and returns it as stored. Disabling an agent or changing their password
// deletes their sessions in the same transaction, so the old credentials stop working at once.
func (s *Store) UpdateAgent(ctx context.Context, id string, p AgentPatch) (*chat.Agent, error) {
	err := s.tx(ctx, "update agent", func(tx *sql.Tx) error {
		a, err := scanAgent(s.queryRowTx(ctx, tx, "SELECT "+agentCols+" FROM agents WHERE id = ?"+s.d.forUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return chat.ErrNotFound("agent")
		}
		if err != nil {
			return err
		}
		if p.Name != nil {
			a.Name = *p.Name
		}
		if p.Role != nil {
			a.Role = *p.Role
		}
		if p.Capacity != nil {
			a.Capacity = *p.Capacity
		}
		if p.AutoAccept != nil {
			a.AutoAccept = *p.AutoAccept
		}
		if p.Weight != nil {
			a.Weight = *p.Weight
		}
		if p.PasswordHash != nil {
			a.PasswordHash = *p.PasswordHash
		}
		disabled := sql.NullInt64{}
		if a.Disabled {
			disabled = sql.NullInt64{Int64: ms(s.now()), Valid: true}
		}
		if p.Disabled != nil {
			if *p.Disabled {
				disabled = sql.NullInt64{Int64: ms(s.now()), Valid: true}
				a.Presence = chat.PresenceOffline
			} else {
				disabled = sql.NullInt64{}
			}
		}
		_, err = s.exec(ctx, tx, `UPDATE agents SET name = ?, role = ?, capacity = ?, auto_accept = ?, weight = ?,
			password_hash = ?, presence = ?, disabled_at = CASE WHEN ? = 1 THEN COALESCE(disabled_at, ?) ELSE NULL END,
			updated_at = ? WHERE id = ?`,
			a.Name, string(a.Role), a.Capacity, b2i(a.AutoAccept), a.Weight, a.PasswordHash, string(a.Presence),
			b2i(disabled.Valid), disabled.Int64, ms(s.now()), id)
		if err != nil {
			return err
		}
		if (p.Disabled != nil && *p.Disabled) || p.PasswordHash != nil {
			if _, err := s.exec(ctx, tx, "DELETE FROM sessions WHERE principal_id = ?", id); err != nil {
				return err
			}
		}
		return s.setTeams(ctx, tx, id, p.Teams)
	})
	if err != nil {
		return nil, err
	}
	return s.Agent(ctx, id)
}

// SetPresence records an agent's presence and when they were last seen.
func (s *Store) SetPresence(ctx context.Context, id string, p chat.Presence) error {
	now := ms(s.now())
	return s.tx(ctx, "set presence", func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "UPDATE agents SET presence = ?, last_seen = ? WHERE id = ?", string(p), now, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.ErrNotFound("agent")
		}
		return nil
	})
}

// CreateTeam inserts a team.
func (s *Store) CreateTeam(ctx context.Context, name string) (*chat.Team, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	t := &chat.Team{ID: id.String(), Name: name, CreatedAt: s.now()}
	err = s.tx(ctx, "create team", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)", t.ID, t.Name, ms(t.CreatedAt))
		return err
	})
	return t, err
}

// RenameTeam changes a team's name.
func (s *Store) RenameTeam(ctx context.Context, id, name string) (*chat.Team, error) {
	var t chat.Team
	err := s.tx(ctx, "rename team", func(tx *sql.Tx) error {
		// Read first: MySQL reports 0 rows affected for a rename to the same name.
		var c int64
		if err := s.queryRowTx(ctx, tx, "SELECT id, created_at FROM teams WHERE id = ?", id).Scan(&t.ID, &c); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return chat.ErrNotFound("team")
			}
			return err
		}
		t.Name, t.CreatedAt = name, fromMS(c)
		_, err := s.exec(ctx, tx, "UPDATE teams SET name = ? WHERE id = ?", name, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Teams lists every team by name.
func (s *Store) Teams(ctx context.Context) ([]*chat.Team, error) {
	rows, err := s.query(ctx, "SELECT id, name, created_at FROM teams ORDER BY name, id")
	if err != nil {
		return nil, s.wrap("list teams", err)
	}
	defer rows.Close()
	var out []*chat.Team
	for rows.Next() {
		var t chat.Team
		var c int64
		if err := rows.Scan(&t.ID, &t.Name, &c); err != nil {
			return nil, s.wrap("list teams", err)
		}
		t.CreatedAt = fromMS(c)
		out = append(out, &t)
	}
	return out, s.wrap("list teams", rows.Err())
}
