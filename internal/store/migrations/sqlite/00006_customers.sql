-- +goose Up
-- context is JSON: page, referrer, browser, language, location.
CREATE TABLE customers (
  id TEXT PRIMARY KEY,
  site_id TEXT NOT NULL REFERENCES sites(id),
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL,
  context TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  erased_at INTEGER
) STRICT;
CREATE INDEX customers_site ON customers(site_id, created_at);
