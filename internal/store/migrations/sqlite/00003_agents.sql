-- +goose Up
-- Agents log in to the console. e-mail is stored lower-cased; unique.
CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  auto_accept INTEGER NOT NULL,
  weight INTEGER NOT NULL,
  presence TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  disabled_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
