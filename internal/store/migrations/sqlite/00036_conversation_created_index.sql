-- +goose Up
-- Reports: conversations by the time they started.
CREATE INDEX conversations_created ON conversations(created_at);
