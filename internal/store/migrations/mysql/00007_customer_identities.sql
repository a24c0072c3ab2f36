-- +goose Up
-- How a customer is known on a channel: a site's own user id (signed), a WeChat openid, an app user id.
CREATE TABLE customer_identities (
  site_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  channel VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  external_id VARCHAR(128) NOT NULL,
  customer_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (site_id, channel, external_id),
  KEY customer_identities_customer (customer_id),
  CONSTRAINT customer_identities_site FOREIGN KEY (site_id) REFERENCES sites(id),
  CONSTRAINT customer_identities_customer FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
