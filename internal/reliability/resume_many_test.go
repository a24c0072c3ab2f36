package reliability

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/store/storetest"
	"github.com/parley-chat/parley/protocol"
)

// TestResumeWithManySubscriptions: an agent following more conversations than one 16 KiB subscribe frame can
// name (~140) is dropped and resumes every one of them. The client used to resubscribe with up to 500 cursors a
// frame; the server closed that frame with 1009 before reading it, and the client reconnected and sent it again,
// never resuming anything.
func TestResumeWithManySubscriptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		const convs = 320
		type pair struct {
			api *client.API
			id  string
		}
		var all []pair
		for i := range convs {
			api, conv := customerConv(t, n, fmt.Sprintf("c%d", i))
			all = append(all, pair{api, conv.ID})
		}
		var hellos atomic.Int32
		c := n.Dial(agent(t, n, "many"), client.WebSocket, client.Options{OnFrame: func(f protocol.ServerFrame) {
			if f.Type == protocol.TypeHello {
				hellos.Add(1)
			}
		}})
		for _, p := range all {
			if err := c.Subscribe(p.id, 0); err != nil {
				t.Fatal(err)
			}
		}
		c.Disconnect()
		// One message in the first and in the last conversation while the agent is away.
		deadline := time.Now().Add(30 * time.Second)
		for _, p := range []pair{all[0], all[convs-1]} {
			ack, err := p.api.PostMessage(context.Background(), p.id, client.NewID(), "while you were away", "")
			if err != nil {
				t.Fatal(err)
			}
			for c.LastSeq(p.id) < ack.Seq {
				if time.Now().After(deadline) {
					t.Fatalf("the agent never resumed conversation %s: at seq %d of %d after %d hellos", p.id, c.LastSeq(p.id), ack.Seq, hellos.Load())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		// Every subscribe frame is timed (parley_subscribe_duration_seconds, observed as the frame's handling
		// ends): 320 cursors take at least three frames of at most ~140.
		var frames float64
		for frames < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("parley_subscribe_duration_seconds_count %v, want at least 3", frames)
			}
			resp, err := http.Get(n.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if v, ok := strings.CutPrefix(line, "parley_subscribe_duration_seconds_count "); ok {
					frames, _ = strconv.ParseFloat(v, 64)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
