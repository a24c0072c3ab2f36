-- +goose Up
-- last_seq is the head of the conversation's dense message sequence; it is bumped in the transaction that
-- inserts each message. A customer has at most one open (not closed) conversation per site: open_flag is 1 while
-- open and NULL when closed, and NULLs never collide in a unique key, so the key allows one open row only.
CREATE TABLE conversations (
  id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  site_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  customer_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  team_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  agent_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  status VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  channel VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  priority INT NOT NULL,
  last_seq BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_message_at BIGINT NOT NULL,
  closed_at BIGINT NULL,
  open_flag TINYINT GENERATED ALWAYS AS (CASE WHEN status <> 'closed' THEN 1 ELSE NULL END) STORED,
  UNIQUE KEY conversations_one_open (site_id, customer_id, open_flag),
  KEY conversations_customer (customer_id, created_at),
  KEY conversations_agent (agent_id, status, last_message_at),
  KEY conversations_team (team_id, status, priority, created_at),
  CONSTRAINT conversations_site FOREIGN KEY (site_id) REFERENCES sites(id),
  CONSTRAINT conversations_customer FOREIGN KEY (customer_id) REFERENCES customers(id),
  CONSTRAINT conversations_team FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE SET NULL,
  CONSTRAINT conversations_agent FOREIGN KEY (agent_id) REFERENCES agents(id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
