package store

import (
	"context"
	"fmt"
	"testing"
)

func TestLimitClause(t *testing.T) {
	for _, c := range []struct {
		want int
		sql  string
		n    int
	}{{-1, " LIMIT 1", 1}, {0, " LIMIT 1", 1}, {1, " LIMIT 1", 1}, {2, " LIMIT 2", 2}, {3, " LIMIT 4", 4}, {50, " LIMIT 64", 64},
		{64, " LIMIT 64", 64}, {65, " LIMIT 128", 128}, {201, " LIMIT 256", 256}} {
		if sql, n := limitClause(c.want); sql != c.sql || n != c.n {
			t.Errorf("limitClause(%d) = %q, %d; want %q, %d", c.want, sql, n, c.sql, c.n)
		}
	}
}

// BenchmarkLimitLiteral: a prepared history read with its LIMIT bound as a parameter, and with a literal. SQLite
// plans with a bound LIMIT's value and plans again after every new binding, so "param" parses and plans the
// statement on every execution.
//
//	go test -run '^$' -bench LimitLiteral ./internal/store/
func BenchmarkLimitLiteral(b *testing.B) {
	s, err := Open(context.Background(), Options{DataDir: b.TempDir(), SQLiteSync: "FULL", Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	lim, _ := limitClause(50)
	for _, c := range []struct {
		name, sql string
		args      []any
	}{
		{"param", "SELECT " + msgCols + " FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?", []any{"c", 100, 50}},
		{"literal", "SELECT " + msgCols + " FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC" + lim, []any{"c", 100}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rows, err := s.query(context.Background(), c.sql, c.args...)
				if err != nil {
					b.Fatal(err)
				}
				if err := rows.Close(); err != nil {
					b.Fatal(fmt.Errorf("%s: %w", c.name, err))
				}
			}
		})
	}
}
