-- +goose Up
-- slots_used counts the slots an agent holds: assigned open conversations plus pending offers. Claims change it with a
-- conditional update (slots_used < capacity), so no agent is ever over capacity however many nodes route at once.
-- availability is the agent's own switch; presence is availability while connected, offline otherwise.
-- last_assigned_at breaks ties between equally loaded agents: the one idle longest goes first.
ALTER TABLE agents ADD COLUMN slots_used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN availability TEXT NOT NULL DEFAULT 'online';
ALTER TABLE agents ADD COLUMN last_assigned_at INTEGER NOT NULL DEFAULT 0;
