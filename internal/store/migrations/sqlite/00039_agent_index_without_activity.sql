-- +goose Up
-- An agent's conversations by state, without last_message_at: every message moved each of its conversation's
-- entries in the indexes that hold last_message_at (a delete on a random page), and an agent's assigned
-- conversations are at most their capacity, cheap to sort. One random page less per message
-- (docs/benchmarks.md, History 2026-12-02).
DROP INDEX conversations_agent;
CREATE INDEX conversations_agent ON conversations(agent_id, status);
