-- +goose Up
-- Canned replies: an agent's own (agent_id set) or shared by everyone (agent_id NULL), found by shortcut.
CREATE TABLE canned_replies (
  id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  agent_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  shortcut VARCHAR(64) NOT NULL,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  KEY canned_replies_owner (agent_id, shortcut),
  CONSTRAINT canned_replies_agent FOREIGN KEY (agent_id) REFERENCES agents(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
