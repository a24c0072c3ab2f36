-- +goose Up
-- Sessions of agents (console, API) and customers (visitor tokens). Only the SHA-256 of a token is stored:
-- a stolen database yields no usable credential.
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  kind TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  site_id TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  last_used_at INTEGER NOT NULL,
  user_agent TEXT NOT NULL,
  ip TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_principal ON sessions(principal_id);
CREATE INDEX sessions_expires ON sessions(expires_at);
