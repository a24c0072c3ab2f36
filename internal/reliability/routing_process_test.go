package reliability

import (
	"context"
	"database/sql"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// The routing storm against two `parley serve` processes routing at once on one MariaDB database: the claim
// must hold across processes exactly as it does across nodes in one process.
func TestRoutingConcurrencyTwoProcesses(t *testing.T) {
	dsn := storetest.FreshMySQL(t) // skips without PARLEY_TEST_MYSQL_DSN, fails under PARLEY_TEST_REQUIRE_ALL=1
	dbURL := storetest.MySQLURL(t, dsn)
	bin := filepath.Join(t.TempDir(), "parley")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/parley-chat/parley/cmd/parley").CombinedOutput(); err != nil {
		t.Fatalf("build parley: %v\n%s", err, out)
	}
	var urls []string
	for i := range 2 {
		// One after the other: the first start creates the admin, the team and the site; the second finds them.
		urls = append(urls, startProcess(t, bin, dbURL, i))
	}
	// The test's own view of the database: the site to use, its routing settings, and the monitor's queries.
	st := storetest.OpenWith(t, store.Options{MySQLDSN: dsn})
	ctx := context.Background()
	sites, err := st.Sites(ctx)
	if err != nil || len(sites) != 1 {
		t.Fatalf("sites after two starts: %d %v", len(sites), err)
	}
	site := sites[0]
	site.Settings.Routing = chat.RoutingSettings{OfferTimeoutS: 1}
	if err := st.UpdateSite(ctx, site); err != nil {
		t.Fatal(err)
	}
	admin := &client.API{BaseURL: urls[1]}
	if _, err := admin.Login(ctx, "admin@example.com", apptest.Password); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	routingStorm(t, stormEnv{urls: urls, siteKey: site.WidgetKey, teamID: site.DefaultTeamID, admin: admin, db: db})
}

// startProcess runs `parley serve` on a free loopback port and the given database until the test ends, and
// returns its URL once it is ready.
func startProcess(t *testing.T, bin, dbURL string, i int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	url := "http://" + addr
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "PARLEY_ADDR="+addr, "PARLEY_DATA_DIR="+filepath.Join(t.TempDir(), "data"),
		"PARLEY_DB="+dbURL, "PARLEY_PUBLIC_URL="+url, "PARLEY_ADMIN_EMAIL=admin@example.com",
		"PARLEY_ADMIN_PASSWORD="+apptest.Password, "PARLEY_HEARTBEAT=1s", "PARLEY_LOG_LEVEL=warn")
	out := &apptest.SyncBuffer{} // written by the process's output copier while the test may read it
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("parley %d output:\n%s", i, out.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("parley %d not ready within 60 s: %v\n%s", i, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
