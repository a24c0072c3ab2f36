-- +goose Up
-- The queue index (00018) now serves the team_id foreign key; the old index is no longer needed.
DROP INDEX conversations_team ON conversations;
