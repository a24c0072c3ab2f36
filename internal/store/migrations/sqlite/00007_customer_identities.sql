-- +goose Up
-- How a customer is known on a channel: a site's own user id (signed), a WeChat openid, an app user id.
CREATE TABLE customer_identities (
  site_id TEXT NOT NULL REFERENCES sites(id),
  channel TEXT NOT NULL,
  external_id TEXT NOT NULL,
  customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (site_id, channel, external_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX customer_identities_customer ON customer_identities(customer_id);
