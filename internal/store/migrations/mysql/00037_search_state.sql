-- +goose Up
-- Where the search indexer has got to. (On SQLite the index and this state live in search.db beside the
-- database, so the main file's copies stay empty; see store.openSearchSQLite.)
CREATE TABLE search_state (
  k VARCHAR(64) NOT NULL PRIMARY KEY,
  v VARCHAR(64) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
