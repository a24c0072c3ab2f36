-- +goose Up
-- Sweeps: offers past their deadline, and open conversations inactive for too long.
CREATE INDEX conversations_offer_expiry ON conversations(status, offer_expires_at);
CREATE INDEX conversations_activity ON conversations(status, last_message_at);
