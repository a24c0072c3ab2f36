-- +goose Up
-- Messages are clustered by (conversation_id, seq): a history page is one range read. client_msg_id makes a
-- sender's retries idempotent for the life of the message; body_hash tells a retry from a reused key.
-- deleted_at marks an erased message whose tombstone keeps the sequence dense.
CREATE TABLE messages (
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  seq INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
  sender_type TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  sender_name TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  body_hash BLOB NOT NULL,
  client_msg_id TEXT,
  meta TEXT,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER,
  PRIMARY KEY (conversation_id, seq)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX messages_client ON messages(conversation_id, client_msg_id, sender_type, sender_id);
