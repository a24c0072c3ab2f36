package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

const customerCols = "id, site_id, name, email, phone, context, created_at, updated_at"

func scanCustomer(r rowScanner) (*chat.Customer, error) {
	var c chat.Customer
	var ctxJSON string
	var created, updated int64
	if err := r.Scan(&c.ID, &c.SiteID, &c.Name, &c.Email, &c.Phone, &ctxJSON, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ctxJSON), &c.Context); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	return &c, nil
}

// CreateCustomer inserts a customer. When channel and externalID are given the customer is linked to that
// identity; if the identity already belongs to a customer (another request won the race), that customer is
// returned instead and created is false.
func (s *Store) CreateCustomer(ctx context.Context, c *chat.Customer, channel chat.Channel, externalID string) (out *chat.Customer, created bool, err error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	c.ID, c.CreatedAt, c.UpdatedAt = id.String(), now, now
	ctxJSON, _ := json.Marshal(c.Context)
	err = s.tx(ctx, "create customer", func(tx *sql.Tx) error {
		created = false
		if externalID != "" {
			var existing string
			err := s.queryRowTx(ctx, tx, "SELECT customer_id FROM customer_identities WHERE site_id = ? AND channel = ? AND external_id = ?"+s.d.forUpdate(),
				c.SiteID, string(channel), externalID).Scan(&existing)
			if err == nil {
				out, err = scanCustomer(s.queryRowTx(ctx, tx, "SELECT "+customerCols+" FROM customers WHERE id = ?", existing))
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if _, err := s.exec(ctx, tx, "INSERT INTO customers ("+customerCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.SiteID, c.Name, c.Email, c.Phone, string(ctxJSON), ms(now), ms(now)); err != nil {
			return err
		}
		if externalID != "" {
			if _, err := s.exec(ctx, tx, "INSERT INTO customer_identities (site_id, channel, external_id, customer_id, created_at) VALUES (?, ?, ?, ?, ?)",
				c.SiteID, string(channel), externalID, c.ID, ms(now)); err != nil {
				return err
			}
		}
		out, created = c, true
		return nil
	})
	if err != nil && externalID != "" && s.d.isDuplicate(err) {
		// Two first logins of one identity raced on different nodes; the loser reads the winner's customer.
		var existing string
		if qerr := s.queryRow(ctx, "SELECT customer_id FROM customer_identities WHERE site_id = ? AND channel = ? AND external_id = ?",
			c.SiteID, string(channel), externalID).Scan(&existing); qerr == nil {
			cust, cerr := s.Customer(ctx, existing)
			return cust, false, cerr
		}
	}
	return out, created, err
}

// Customer returns the customer with id.
func (s *Store) Customer(ctx context.Context, id string) (*chat.Customer, error) {
	c, err := scanCustomer(s.queryRow(ctx, "SELECT "+customerCols+" FROM customers WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("customer")
	}
	return c, s.wrap("read customer", err)
}

// UpdateCustomer stores a customer's name, contacts and context.
func (s *Store) UpdateCustomer(ctx context.Context, c *chat.Customer) error {
	ctxJSON, _ := json.Marshal(c.Context)
	c.UpdatedAt = s.now()
	return s.tx(ctx, "update customer", func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, "UPDATE customers SET name = ?, email = ?, phone = ?, context = ?, updated_at = ? WHERE id = ?",
			c.Name, c.Email, c.Phone, string(ctxJSON), ms(c.UpdatedAt), c.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return chat.ErrNotFound("customer")
		}
		return nil
	})
}
