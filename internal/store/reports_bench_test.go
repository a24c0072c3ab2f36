package store

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/testenv"
)

// BenchmarkReportRows measures the report's read of a 30-day range on a store holding many conversations
// (PARLEY_BENCH_REPORT_ROWS, default 1,000,000, spread over a year; seeding takes a while), on SQLite and, with
// PARLEY_TEST_MYSQL_DSN set, on MySQL/MariaDB:
//
//	go test -run '^$' -bench ReportRows -benchtime 1x ./internal/store/
func BenchmarkReportRows(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("PARLEY_BENCH_REPORT_ROWS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			o := Options{DataDir: b.TempDir(), SQLiteSync: "NORMAL", Migrate: true}
			if kind == "mysql" {
				o.MySQLDSN = testenv.FreshMySQL(b) // skips without PARLEY_TEST_MYSQL_DSN
			}
			benchReportRows(b, o, n)
		})
	}
}

func benchReportRows(b *testing.B, o Options, n int) {
	ctx := context.Background()
	s, err := Open(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	team, err := s.CreateTeam(ctx, "t")
	if err != nil {
		b.Fatal(err)
	}
	siteID, custID := uuid.NewString(), uuid.NewString()
	if _, err := s.w.ExecContext(ctx, "INSERT INTO sites ("+siteCols+") VALUES (?, 's', 'k', 'x', '[]', ?, '{}', 0, 0)", siteID, team.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO customers (id, site_id, name, email, phone, context, created_at, updated_at) VALUES (?, ?, 'c', '', '', '{}', 0, 0)", custID, siteID); err != nil {
		b.Fatal(err)
	}
	year := int64(365 * 24 * time.Hour / time.Millisecond)
	end := time.Now().UnixMilli()
	start := time.Now()
	// Batched: 500 rows a statement, 20 statements a transaction.
	const per = 500
	for done := 0; done < n; {
		err := s.tx(ctx, "seed", func(tx *sql.Tx) error {
			for k := 0; k < 20 && done < n; k++ {
				var q strings.Builder
				q.WriteString("INSERT INTO conversations (id, site_id, customer_id, team_id, status, channel, priority, last_seq, created_at, updated_at, last_message_at, closed_at, queued_at, assigned_at, first_response_at) VALUES ")
				var args []any
				for i := 0; i < per && done < n; i++ {
					if i > 0 {
						q.WriteString(", ")
					}
					q.WriteString("(?, ?, ?, ?, 'closed', 'web', 0, 3, ?, ?, ?, ?, ?, ?, ?)")
					created := end - year + int64(done)*year/int64(n)
					// Time-ordered ids, as the store makes them (uuid.NewV7): in the order of created_at.
					args = append(args, uuid.Must(uuid.NewV7()).String(), siteID, custID, team.ID, created, created, created, created+600_000, created, created+5_000, created+30_000)
					done++
				}
				if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	analyze := "ANALYZE"
	if s.d.name() == "mysql" {
		analyze = "ANALYZE TABLE conversations"
	}
	if rows, err := s.w.QueryContext(ctx, analyze); err != nil {
		b.Fatal(err)
	} else {
		rows.Close()
	}
	b.Logf("seeded %d conversations in %s", n, time.Since(start).Round(time.Second))
	from, to := time.UnixMilli(end).Add(-30*24*time.Hour), time.UnixMilli(end)
	b.ResetTimer()
	var rows int
	for i := 0; i < b.N; i++ {
		r, err := s.ReportRows(ctx, from, to, 200000)
		if err != nil {
			b.Fatal(err)
		}
		rows = len(r)
	}
	b.ReportMetric(float64(rows), "rows")
}
