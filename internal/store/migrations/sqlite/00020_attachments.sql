-- +goose Up
-- Uploaded files: only metadata here, the bytes in file storage under storage_key (random, never the client's
-- name). name is the sanitized display and download name; content_type is what the content was sniffed as.
CREATE TABLE attachments (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  uploader_type TEXT NOT NULL,
  uploader_id TEXT NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  storage_key TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_conversation ON attachments(conversation_id, uploader_type, uploader_id);
