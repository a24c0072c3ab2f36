-- +goose Up
-- Agents log in to the console. e-mail is stored lower-cased; unique.
CREATE TABLE agents (
  id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  email VARCHAR(254) NOT NULL,
  name VARCHAR(100) NOT NULL,
  password_hash VARCHAR(100) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  role VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  capacity INT NOT NULL,
  auto_accept TINYINT NOT NULL,
  weight INT NOT NULL,
  presence VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  last_seen BIGINT NOT NULL,
  disabled_at BIGINT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE KEY agents_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
