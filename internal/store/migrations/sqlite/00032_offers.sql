-- +goose Up
-- Every offer and how it ended (accepted, declined, expired, withdrawn): routing skips agents who already let a
-- conversation go, supervisors and metrics see the outcomes.
CREATE TABLE offers (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  agent_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  outcome TEXT NOT NULL DEFAULT '',
  ended_at INTEGER
) STRICT;
CREATE INDEX offers_conversation ON offers(conversation_id, agent_id);
