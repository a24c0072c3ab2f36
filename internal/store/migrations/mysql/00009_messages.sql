-- +goose Up
-- Messages are clustered by (conversation_id, seq): a history page is one range read. client_msg_id makes a
-- sender's retries idempotent for the life of the message; body_hash tells a retry from a reused key.
-- deleted_at marks an erased message whose tombstone keeps the sequence dense.
CREATE TABLE messages (
  conversation_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq BIGINT UNSIGNED NOT NULL,
  id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  sender_type VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  sender_id VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  sender_name VARCHAR(100) NOT NULL,
  type VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  body TEXT NOT NULL,
  body_hash VARBINARY(32) NOT NULL,
  client_msg_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,
  meta TEXT NULL,
  created_at BIGINT NOT NULL,
  deleted_at BIGINT NULL,
  PRIMARY KEY (conversation_id, seq),
  UNIQUE KEY messages_id (id),
  UNIQUE KEY messages_client (conversation_id, client_msg_id, sender_type, sender_id),
  CONSTRAINT messages_conversation FOREIGN KEY (conversation_id) REFERENCES conversations(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
