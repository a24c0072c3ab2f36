package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

const siteCols = "id, name, widget_key, secret, allowed_origins, default_team_id, settings, created_at, updated_at"

func scanSite(r rowScanner) (*chat.Site, error) {
	var st chat.Site
	var origins, settings string
	var team sql.NullString
	var created, updated int64
	if err := r.Scan(&st.ID, &st.Name, &st.WidgetKey, &st.Secret, &origins, &team, &settings, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(origins), &st.AllowedOrigins); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &st.Settings); err != nil {
		return nil, err
	}
	st.DefaultTeamID = team.String
	st.CreatedAt, st.UpdatedAt = fromMS(created), fromMS(updated)
	return &st, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateSite inserts a site; the caller generates its widget key and secret.
func (s *Store) CreateSite(ctx context.Context, st *chat.Site) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := s.now()
	st.ID, st.CreatedAt, st.UpdatedAt = id.String(), now, now
	if st.AllowedOrigins == nil {
		st.AllowedOrigins = []string{}
	}
	origins, _ := json.Marshal(st.AllowedOrigins)
	settings, _ := json.Marshal(st.Settings)
	defer s.sites.invalidate()
	return s.tx(ctx, "create site", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "INSERT INTO sites ("+siteCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			st.ID, st.Name, st.WidgetKey, st.Secret, string(origins), nullString(st.DefaultTeamID), string(settings), ms(now), ms(now))
		if s.d.isDuplicate(err) {
			return chat.Errorf(chat.CodeConflict, "the widget key is already in use")
		}
		return err
	})
}

// Site returns the site with id: a copy of the cached one when it was read within SiteCacheTTL (siteCache).
func (s *Store) Site(ctx context.Context, id string) (*chat.Site, error) {
	return s.siteWhere(ctx, "id = ?", id, false)
}

// SiteByKey returns the site whose public widget key is key, cached as Site.
func (s *Store) SiteByKey(ctx context.Context, key string) (*chat.Site, error) {
	return s.siteWhere(ctx, "widget_key = ?", key, true)
}

func (s *Store) siteWhere(ctx context.Context, where string, arg string, byKey bool) (*chat.Site, error) {
	cached, gen := s.sites.get(arg, byKey)
	if cached != nil {
		return cached, nil
	}
	st, err := scanSite(s.queryRow(ctx, "SELECT "+siteCols+" FROM sites WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("site")
	}
	if err != nil {
		return nil, s.wrap("read site", err)
	}
	s.sites.put(st, gen)
	return st, nil
}

// Sites lists every site by name.
func (s *Store) Sites(ctx context.Context) ([]*chat.Site, error) {
	rows, err := s.query(ctx, "SELECT "+siteCols+" FROM sites ORDER BY name, id")
	if err != nil {
		return nil, s.wrap("list sites", err)
	}
	defer rows.Close()
	var out []*chat.Site
	for rows.Next() {
		st, err := scanSite(rows)
		if err != nil {
			return nil, s.wrap("list sites", err)
		}
		out = append(out, st)
	}
	return out, s.wrap("list sites", rows.Err())
}

// UpdateSite stores a site's name, origins, default team and settings.
func (s *Store) UpdateSite(ctx context.Context, st *chat.Site) error {
	origins, _ := json.Marshal(st.AllowedOrigins)
	settings, _ := json.Marshal(st.Settings)
	st.UpdatedAt = s.now()
	// Cleared after the commit (deferred), so a read between the commit and the clearing is dropped by the
	// generation check and nothing older than the change is kept.
	defer s.sites.invalidate()
	return s.tx(ctx, "update site", func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE sites SET name = ?, allowed_origins = ?, default_team_id = ?, settings = ?,
			updated_at = ? WHERE id = ?`, st.Name, string(origins), nullString(st.DefaultTeamID), string(settings), ms(st.UpdatedAt), st.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.ErrNotFound("site")
		}
		return nil
	})
}
