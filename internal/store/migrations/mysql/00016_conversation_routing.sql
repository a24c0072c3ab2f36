-- +goose Up
-- Routing state: when the conversation entered its team's queue (FIFO within priority), the pending offer (the
-- agent it is offered to and until when), when it was assigned, the agent it last had (for reopening), and
-- when an agent first answered (reports).
ALTER TABLE conversations
  ADD COLUMN queued_at BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN offered_to CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  ADD COLUMN offer_expires_at BIGINT NULL,
  ADD COLUMN assigned_at BIGINT NULL,
  ADD COLUMN last_agent_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  ADD COLUMN first_response_at BIGINT NULL;
