-- +goose Up
-- Sweeps: offers past their deadline.
CREATE INDEX conversations_offer_expiry ON conversations(status, offer_expires_at);
