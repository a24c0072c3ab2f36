-- +goose Up
-- The idempotency index leads with the client message id instead of the conversation. Led by the conversation,
-- every message wrote its entry into its own conversation's part of the index: one more page of the log per
-- message on SQLite, a third of what a message writes when a commit holds messages of many conversations
-- (docs/benchmarks.md, History 2026-12-07 evening). Parley's clients make their ids time-ordered (a UUIDv7;
-- client.NewID, the widget, the console), so their entries are appended where the last ones went and a commit
-- writes one page of this index however many conversations it holds; a client that sends random ids (a UUIDv4)
-- costs what every message cost before. The uniqueness is the same: the same four columns. Messages without a
-- client id (system and bot messages) are left out: NULLs never collide, and they are never looked up.
DROP INDEX messages_client;
CREATE UNIQUE INDEX messages_client ON messages(client_msg_id, conversation_id, sender_type, sender_id) WHERE client_msg_id IS NOT NULL;
