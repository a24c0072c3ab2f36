-- +goose Up
-- Customer satisfaction: at most one rating per conversation (the primary key), given after it closed.
-- agent_id and team_id are copied from the conversation at rating time for reports.
CREATE TABLE ratings (
  conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
  customer_id TEXT NOT NULL,
  agent_id TEXT,
  team_id TEXT,
  score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX ratings_created ON ratings(created_at);
