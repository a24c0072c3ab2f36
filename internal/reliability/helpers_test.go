package reliability

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	promtestutil "github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/store"
	"github.com/parley-chat/parley/protocol"
)

func TestMain(m *testing.M) {
	// Every test stops its nodes and clients; nothing may keep running afterwards.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreAnyFunction("github.com/go-sql-driver/mysql.(*mysqlConn).startWatcher.func1"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

// rawWS is a bare WebSocket for tests that need to write exactly what they want: malformed frames, the same
// send many times, frames before auth.
type rawWS struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan protocol.ServerFrame
	closed chan error // the close error (with its code) when the server closes
	mu     sync.Mutex
}

func dialRaw(t testing.TB, base, query string, header http.Header) (*rawWS, *http.Response, error) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws"
	if query != "" {
		u += "?" + query
	}
	c, resp, err := websocket.DefaultDialer.Dial(u, header)
	if err != nil {
		return nil, resp, err
	}
	r := &rawWS{t: t, c: c, frames: make(chan protocol.ServerFrame, 4096), closed: make(chan error, 1)}
	go func() {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				r.closed <- err
				close(r.frames)
				return
			}
			var f protocol.ServerFrame
			if json.Unmarshal(data, &f) == nil {
				r.frames <- f
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return r, resp, nil
}

// authed dials and authenticates with token, returning after the hello frame.
func authed(t testing.TB, base, token string) *rawWS {
	t.Helper()
	r, _, err := dialRaw(t, base, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.send(protocol.ClientFrame{Type: protocol.TypeAuth, Token: token})
	if f := r.next(5 * time.Second); f.Type != protocol.TypeHello {
		t.Fatalf("expected hello, got %+v", f)
	}
	return r
}

func (r *rawWS) write(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := r.c.WriteMessage(websocket.TextMessage, b); err != nil {
		r.t.Logf("write: %v", err)
	}
}

func (r *rawWS) send(f protocol.ClientFrame) {
	b, _ := json.Marshal(f)
	r.write(b)
}

// next returns the next frame, failing the test after within.
func (r *rawWS) next(within time.Duration) protocol.ServerFrame {
	r.t.Helper()
	select {
	case f, ok := <-r.frames:
		if !ok {
			r.t.Fatalf("connection closed while waiting for a frame: %v", <-r.closed)
		}
		return f
	case <-time.After(within):
		r.t.Fatalf("no frame within %v", within)
	}
	return protocol.ServerFrame{}
}

// until returns the first frame for which ok is true, skipping others.
func (r *rawWS) until(within time.Duration, ok func(protocol.ServerFrame) bool) protocol.ServerFrame {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		f := r.next(time.Until(deadline))
		if ok(f) {
			return f
		}
	}
}

// closeCode waits for the server to close the connection and returns the close code.
func (r *rawWS) closeCode(within time.Duration) int {
	r.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case _, ok := <-r.frames:
			if ok {
				continue
			}
			err := <-r.closed
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			return -1
		case <-deadline:
			r.t.Fatalf("connection not closed within %v", within)
		}
	}
}

// allMessages reads a conversation's complete history as an agent sees it.
func allMessages(t testing.TB, api *client.API, conv string) []protocol.Message {
	t.Helper()
	var out []protocol.Message
	var after uint64
	for {
		p, err := api.After(context.Background(), conv, after, 200)
		if err != nil {
			t.Fatalf("history of %s: %v", conv, err)
		}
		out = append(out, p.Messages...)
		if len(p.Messages) < 200 {
			return out
		}
		after = p.Messages[len(p.Messages)-1].Seq
	}
}

// twoNodes starts one node (SQLite) or two nodes on one MariaDB database (MySQL), for tests that race
// across server processes.
func twoNodes(t *testing.T, kind string, args ...string) []*apptest.Node {
	a := apptest.Start(t, kind, apptest.Options{Args: args})
	if kind != "mysql" {
		return []*apptest.Node{a}
	}
	b := apptest.Start(t, kind, apptest.Options{DB: a.DB, Args: args})
	return []*apptest.Node{a, b}
}

// customerConv opens a visitor session and a conversation on n.
func customerConv(t testing.TB, n *apptest.Node, name string) (*client.API, *client.Conversation) {
	t.Helper()
	api := n.Customer(name)
	conv, err := api.StartConversation(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return api, conv
}

func agent(t testing.TB, n *apptest.Node, name string) *client.API {
	return n.Agent(name+"@example.com", chat.RoleAgent)
}

var _ = os.Getenv

// storeOptions are the options to open the database of a (stopped) node directly.
func storeOptions(n *apptest.Node) store.Options {
	o := store.Options{DataDir: n.DataDir, SQLiteSync: "FULL"}
	if n.DB != "" {
		dsn, _ := config.MySQLDSN(n.DB)
		o.MySQLDSN = dsn
	}
	return o
}

// testutilSlowDisconnects reads the node's slow-consumer counter.
func testutilSlowDisconnects(n *apptest.Node) float64 {
	return promtestutil.ToFloat64(n.App.Metrics.SlowConsumers)
}
