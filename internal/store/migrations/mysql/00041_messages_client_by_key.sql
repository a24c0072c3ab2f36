-- +goose Up
-- The idempotency index leads with the client message id instead of the conversation (see the SQLite
-- migration of the same number). On InnoDB a unique entry is checked against its leaf before it is written, so
-- an index led by the conversation needed every active conversation's leaf in the buffer pool; led by a
-- time-ordered client id (Parley's clients send UUIDv7s) the inserts share the index's last leaf.
ALTER TABLE messages DROP INDEX messages_client,
  ADD UNIQUE KEY messages_client (client_msg_id, conversation_id, sender_type, sender_id);
