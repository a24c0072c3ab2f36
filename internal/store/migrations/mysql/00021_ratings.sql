-- +goose Up
-- Customer satisfaction: at most one rating per conversation (the primary key), given after it closed.
-- agent_id and team_id are copied from the conversation at rating time for reports.
CREATE TABLE ratings (
  conversation_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  customer_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  agent_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  team_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  score TINYINT NOT NULL,
  comment TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  KEY ratings_created (created_at),
  CONSTRAINT ratings_conv FOREIGN KEY (conversation_id) REFERENCES conversations(id),
  CONSTRAINT ratings_score CHECK (score BETWEEN 1 AND 5)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
