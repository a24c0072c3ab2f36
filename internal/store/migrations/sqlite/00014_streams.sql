-- +goose Up
-- Event streams of agents and teams (assignments, queue changes, closes) have their own dense sequence, like
-- conversations: last_seq is the head, bumped in the transaction that appends an event.
CREATE TABLE streams (
  id TEXT PRIMARY KEY,
  last_seq INTEGER NOT NULL
) STRICT;
