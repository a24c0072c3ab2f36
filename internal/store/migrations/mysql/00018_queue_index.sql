-- +goose Up
-- The team queue is read in (priority, queued_at) order.
CREATE INDEX conversations_queue ON conversations(team_id, status, priority, queued_at);
