-- +goose Up
-- Routing state: when the conversation entered its team's queue (FIFO within priority), the pending offer (the
-- agent it is offered to and until when), when it was assigned, the agent it last had (for reopening), and
-- when an agent first answered (reports).
ALTER TABLE conversations ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN offered_to TEXT REFERENCES agents(id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN offer_expires_at INTEGER;
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;
ALTER TABLE conversations ADD COLUMN last_agent_id TEXT;
ALTER TABLE conversations ADD COLUMN first_response_at INTEGER;
UPDATE conversations SET queued_at = created_at;
