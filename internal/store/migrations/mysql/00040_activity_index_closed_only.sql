-- +goose Up
-- The inbox indexes by activity without the activity of open conversations. Every message moved its
-- conversation's entries in conversations_activity and conversations_team_activity (a delete on a random page
-- each): with SQLite's group commit the two were ~45 % of the commit's CPU (docs/benchmarks.md, History
-- 2026-12-02 evening). closed_activity_at is last_message_at once a conversation is closed and NULL while it is
-- open, so a message never moves an entry. The lists of closed conversations (the whole history) still read
-- these indexes in order; the open ones (bounded) are sorted.
ALTER TABLE conversations ADD COLUMN closed_activity_at BIGINT NULL;
UPDATE conversations SET closed_activity_at = last_message_at WHERE status = 'closed';
ALTER TABLE conversations DROP INDEX conversations_activity, DROP INDEX conversations_team_activity,
  ADD INDEX conversations_activity (status, closed_activity_at, id),
  ADD INDEX conversations_team_activity (team_id, status, closed_activity_at, id);
