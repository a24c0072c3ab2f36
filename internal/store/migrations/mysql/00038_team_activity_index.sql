-- +goose Up
-- Inbox lists of a team by activity, for any status: closed conversations (the whole history) stay on the
-- index instead of being sorted.
CREATE INDEX conversations_team_activity ON conversations(team_id, status, last_message_at, id);
