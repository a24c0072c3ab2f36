-- +goose Up
-- Uploaded files: only metadata here, the bytes in file storage under storage_key (random, never the client's
-- name). name is the sanitized display and download name; content_type is what the content was sniffed as.
CREATE TABLE attachments (
  id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  conversation_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  uploader_type VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  uploader_id VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name VARCHAR(255) NOT NULL,
  content_type VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  size BIGINT NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  storage_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE KEY attachments_storage_key (storage_key),
  KEY attachments_conversation (conversation_id, uploader_type, uploader_id),
  CONSTRAINT attachments_conv FOREIGN KEY (conversation_id) REFERENCES conversations(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
