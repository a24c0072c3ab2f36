-- +goose Up
-- Side effects (webhooks, notifications) written in the same transaction as the change that causes them and
-- delivered by a worker, retried with backoff until done.
CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_due ON outbox(next_attempt_at);
