-- +goose Up
-- The highest sequence number each side (customer, agent) has read; only ever moves forward. A message is
-- read by the other side when its seq <= that side's cursor (the seeds' is_read).
CREATE TABLE read_cursors (
  conversation_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  side VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq BIGINT UNSIGNED NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, side),
  CONSTRAINT read_cursors_conversation FOREIGN KEY (conversation_id) REFERENCES conversations(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
