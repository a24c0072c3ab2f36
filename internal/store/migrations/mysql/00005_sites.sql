-- +goose Up
-- A site embeds the widget. widget_key is public; secret signs customer identities. allowed_origins and
-- settings are JSON.
CREATE TABLE sites (
  id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  widget_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  secret VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  allowed_origins TEXT NOT NULL,
  default_team_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  settings TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE KEY sites_widget_key (widget_key),
  CONSTRAINT sites_team FOREIGN KEY (default_team_id) REFERENCES teams(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
