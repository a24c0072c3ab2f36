-- +goose Up
-- meta holds store-wide facts such as the epoch, the random id clients compare to detect a restored store.
CREATE TABLE meta (
  k TEXT PRIMARY KEY,
  v TEXT NOT NULL
) STRICT;
