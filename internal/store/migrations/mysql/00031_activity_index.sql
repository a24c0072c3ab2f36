-- +goose Up
-- Sweeps: open conversations inactive for too long.
CREATE INDEX conversations_activity ON conversations(status, last_message_at);
