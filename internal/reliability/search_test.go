package reliability

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/storetest"
)

type searchAnswer struct {
	Results []struct {
		Message struct {
			ConversationID string `json:"conversation_id"`
			Seq            uint64 `json:"seq"`
			Body           string `json:"body"`
		} `json:"message"`
		CustomerName string `json:"customer_name"`
	} `json:"results"`
}

func searchFor(t *testing.T, api *client.API, q string) (searchAnswer, error) {
	t.Helper()
	var a searchAnswer
	_, err := api.Do(context.Background(), http.MethodGet, "/api/v1/search?q="+url.QueryEscape(q), nil, &a)
	return a, err
}

// Search finds Chinese words inside text written without spaces and English words in any case, on both
// databases; a near miss of the index is not a result, and nobody finds what they may not read.
func TestSearchChineseAndEnglish(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		ctx := context.Background()
		cust, conv := customerConv(t, n, "王小明")
		for _, body := range []string{"我要申请退款，订单1042还没到", "Please REFUND my order", "一条无关的消息"} {
			if _, err := cust.PostMessage(ctx, conv.ID, client.NewID(), body, ""); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := n.App.Indexer.Run(ctx, 10000); err != nil {
			t.Fatal(err)
		}
		if _, err := n.App.Indexer.Run(ctx, 10000); err != nil { // a second pass re-reads the window: no duplicates
			t.Fatal(err)
		}
		mine := agent(t, n, "searcher")
		for _, tc := range []struct {
			q    string
			want string // the body found, "" for none
		}{
			{"退款", "我要申请退款，订单1042还没到"},
			{"申请退", "我要申请退款，订单1042还没到"},
			{"refund", "Please REFUND my order"},
			{"Refund My", "Please REFUND my order"},
			{"1042", "我要申请退款，订单1042还没到"},
			{"退钱", ""},
			{"order 1042", ""}, // both terms, but not in one message
			{"款申", ""},         // both characters are there, but not next to each other in this order
		} {
			a, err := searchFor(t, mine, tc.q)
			if err != nil {
				t.Fatalf("search %q: %v", tc.q, err)
			}
			var got []string
			for _, r := range a.Results {
				got = append(got, r.Message.Body)
				if r.Message.ConversationID != conv.ID || r.CustomerName != "王小明" {
					t.Fatalf("search %q: result %+v", tc.q, r)
				}
			}
			if (tc.want == "" && len(got) != 0) || (tc.want != "" && (len(got) != 1 || got[0] != tc.want)) {
				t.Errorf("search %q found %q, want %q", tc.q, got, tc.want)
			}
		}
		// An agent of another team finds nothing; a customer may not search; an empty query is refused.
		var other struct {
			ID string `json:"id"`
		}
		if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/teams", map[string]string{"name": "Elsewhere"}, &other); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/agents", map[string]any{"email": "outsider@example.com", "name": "outsider",
			"password": apptest.Password, "role": chat.RoleAgent, "teams": []string{other.ID}}, nil); err != nil {
			t.Fatal(err)
		}
		outsider := &client.API{BaseURL: n.URL}
		if _, err := outsider.Login(ctx, "outsider@example.com", apptest.Password); err != nil {
			t.Fatal(err)
		}
		if a, err := searchFor(t, outsider, "退款"); err != nil || len(a.Results) != 0 {
			t.Fatalf("an agent of another team searching: %+v %v, want nothing", a, err)
		}
		if _, err := searchFor(t, cust, "退款"); err == nil {
			t.Fatal("a customer searched")
		}
		if _, err := searchFor(t, mine, "  "); !strings.Contains(fmt.Sprint(err), "400") {
			t.Fatalf("an empty search: %v, want 400", err)
		}
		// The admin sees every team.
		if a, err := searchFor(t, n.Admin, "refund"); err != nil || len(a.Results) != 1 {
			t.Fatalf("admin search: %+v %v", a, err)
		}
	})
}
