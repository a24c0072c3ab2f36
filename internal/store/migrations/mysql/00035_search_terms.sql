-- +goose Up
-- The search index: the terms of each message (chat.SearchTerms: words, and character pairs for Chinese,
-- Japanese and Korean), filled behind the writes by the indexer (store/search.go). MariaDB's FULLTEXT has no
-- parser for text without spaces (MySQL's ngram parser is not in MariaDB), so both databases use this table.
CREATE TABLE search_terms (
  term VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  conversation_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (term, conversation_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
