-- +goose Up
-- Queue estimates: the handling times of a team's most recently closed conversations.
CREATE INDEX conversations_team_closed ON conversations(team_id, closed_at);
