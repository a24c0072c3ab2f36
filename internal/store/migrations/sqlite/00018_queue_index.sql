-- +goose Up
-- The team queue is read in (priority, queued_at) order.
DROP INDEX conversations_team;
CREATE INDEX conversations_queue ON conversations(team_id, status, priority DESC, queued_at);
