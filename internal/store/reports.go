package store

import (
	"context"
	"database/sql"
	"time"
)

// ReportRow is what a report needs of one conversation that started in its range.
type ReportRow struct {
	CreatedAt       time.Time
	FirstResponseAt time.Time // zero: no agent answered yet
	ClosedAt        time.Time // zero: still open
	AssignedAt      time.Time
	AgentID         string // the agent who has (or last had) it
	TeamID          string
}

// ReportRows returns the conversations started in [from, to), at most limit, oldest first.
func (s *Store) ReportRows(ctx context.Context, from, to time.Time, limit int) ([]ReportRow, error) {
	rows, err := s.query(ctx, `SELECT created_at, first_response_at, closed_at, assigned_at, COALESCE(agent_id, last_agent_id, ''), COALESCE(team_id, '')
		FROM conversations WHERE created_at >= ? AND created_at < ? ORDER BY created_at LIMIT ?`, ms(from), ms(to), limit)
	if err != nil {
		return nil, s.wrap("read report", err)
	}
	defer rows.Close()
	var out []ReportRow
	for rows.Next() {
		var r ReportRow
		var created int64
		var first, closed, assigned sql.NullInt64
		if err := rows.Scan(&created, &first, &closed, &assigned, &r.AgentID, &r.TeamID); err != nil {
			return nil, s.wrap("read report", err)
		}
		r.CreatedAt, r.FirstResponseAt, r.ClosedAt, r.AssignedAt = fromMS(created), nullMS(first), nullMS(closed), nullMS(assigned)
		out = append(out, r)
	}
	return out, s.wrap("read report", rows.Err())
}

// RatingScores returns the scores of the ratings given in [from, to), at most limit.
func (s *Store) RatingScores(ctx context.Context, from, to time.Time, limit int) ([]int, error) {
	rows, err := s.query(ctx, "SELECT score FROM ratings WHERE created_at >= ? AND created_at < ? ORDER BY created_at LIMIT ?", ms(from), ms(to), limit)
	if err != nil {
		return nil, s.wrap("read ratings", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, s.wrap("read ratings", err)
		}
		out = append(out, v)
	}
	return out, s.wrap("read ratings", rows.Err())
}
