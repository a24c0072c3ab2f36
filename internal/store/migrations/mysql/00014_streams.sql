-- +goose Up
-- Event streams of agents and teams (assignments, queue changes, closes) have their own dense sequence, like
-- conversations: last_seq is the head, bumped in the transaction that appends an event.
CREATE TABLE streams (
  id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  last_seq BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
