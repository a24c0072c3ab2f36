-- +goose Up
-- slots_used counts the slots an agent holds: assigned open conversations plus pending offers. Claims change it with a
-- conditional update (slots_used < capacity), so no agent is ever over capacity however many nodes route at once.
-- availability is the agent's own switch; presence is availability while connected, offline otherwise.
-- last_assigned_at breaks ties between equally loaded agents: the one idle longest goes first.
ALTER TABLE agents
  ADD COLUMN slots_used INT NOT NULL DEFAULT 0,
  ADD COLUMN availability VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'online',
  ADD COLUMN last_assigned_at BIGINT NOT NULL DEFAULT 0;
