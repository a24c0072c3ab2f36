-- +goose Up
-- meta holds store-wide facts such as the epoch, the random id clients compare to detect a restored store.
CREATE TABLE meta (
  k VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  v TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
