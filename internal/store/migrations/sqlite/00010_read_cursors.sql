-- +goose Up
-- The highest sequence number each side (customer, agent) has read; only ever moves forward. A message is
-- read by the other side when its seq <= that side's cursor (the seeds' is_read).
CREATE TABLE read_cursors (
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  side TEXT NOT NULL,
  seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (conversation_id, side)
) STRICT, WITHOUT ROWID;
