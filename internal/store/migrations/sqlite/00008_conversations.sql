-- +goose Up
-- last_seq is the head of the conversation's dense message sequence; it is bumped in the transaction that
-- inserts each message. A customer has at most one open (not closed) conversation per site: the partial
-- unique index enforces it even when requests race on several nodes.
CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  site_id TEXT NOT NULL REFERENCES sites(id),
  customer_id TEXT NOT NULL REFERENCES customers(id),
  team_id TEXT REFERENCES teams(id) ON DELETE SET NULL,
  agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
  status TEXT NOT NULL,
  channel TEXT NOT NULL,
  priority INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_message_at INTEGER NOT NULL,
  closed_at INTEGER
) STRICT;
CREATE UNIQUE INDEX conversations_one_open ON conversations(site_id, customer_id) WHERE status <> 'closed';
CREATE INDEX conversations_customer ON conversations(customer_id, created_at);
CREATE INDEX conversations_agent ON conversations(agent_id, status, last_message_at);
CREATE INDEX conversations_team ON conversations(team_id, status, priority, created_at);
