-- +goose Up
-- The search index: the terms of each message (chat.SearchTerms: words, and character pairs for Chinese,
-- Japanese and Korean), filled behind the writes by the indexer (store/search.go).
CREATE TABLE search_terms (
  term TEXT NOT NULL,
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (term, conversation_id, seq)
) STRICT, WITHOUT ROWID;
