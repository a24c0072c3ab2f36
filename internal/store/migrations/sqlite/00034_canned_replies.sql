-- +goose Up
-- Canned replies: an agent's own (agent_id set) or shared by everyone (agent_id NULL), found by shortcut.
CREATE TABLE canned_replies (
  id TEXT PRIMARY KEY,
  agent_id TEXT REFERENCES agents(id) ON DELETE CASCADE,
  shortcut TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX canned_replies_owner ON canned_replies(agent_id, shortcut);
