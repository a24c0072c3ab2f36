-- +goose Up
-- Sessions of agents (console, API) and customers (visitor tokens). Only the SHA-256 of a token is stored:
-- a stolen database yields no usable credential.
CREATE TABLE sessions (
  token_hash VARBINARY(32) NOT NULL PRIMARY KEY,
  kind VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  principal_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  site_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL,
  user_agent VARCHAR(255) NOT NULL,
  ip VARCHAR(45) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  KEY sessions_principal (principal_id),
  KEY sessions_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
