-- +goose Up
-- A site embeds the widget. widget_key is public; secret signs customer identities. allowed_origins and
-- settings are JSON.
CREATE TABLE sites (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  widget_key TEXT NOT NULL UNIQUE,
  secret TEXT NOT NULL,
  allowed_origins TEXT NOT NULL,
  default_team_id TEXT REFERENCES teams(id) ON DELETE SET NULL,
  settings TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
