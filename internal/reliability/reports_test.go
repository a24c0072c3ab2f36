package reliability

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// Reports count conversations per day and hour in the viewer's time zone, measure first response and
// resolution, and sum up ratings; only supervisors and admins see them.
func TestReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		ctx := context.Background()
		ag := agent(t, n, "reporter")
		for i := range 3 {
			cust, conv := customerConv(t, n, fmt.Sprint("r", i))
			if _, err := ag.PostMessage(ctx, conv.ID, client.NewID(), "hello", ""); err != nil {
				t.Fatal(err)
			}
			if i < 2 {
				if _, err := ag.CloseConversation(ctx, conv.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := cust.Do(ctx, http.MethodPost, "/api/v1/conversations/"+conv.ID+"/rating", map[string]any{"score": 4 + i, "comment": ""}, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
		loc, _ := time.LoadLocation("Asia/Shanghai")
		today := time.Now().In(loc).Format("2006-01-02")
		q := url.Values{"from": {today}, "to": {today}, "tz": {"Asia/Shanghai"}}
		var rep struct {
			Days          []string            `json:"days"`
			PerDay        []int               `json:"per_day"`
			PerHour       []int               `json:"per_hour"`
			FirstResponse struct{ Count int } `json:"first_response_s"`
			Resolution    struct{ Count int } `json:"resolution_s"`
			CSAT          []int               `json:"csat"`
			CSATAverage   float64             `json:"csat_average"`
			Conversations int                 `json:"conversations"`
		}
		if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/reports?"+q.Encode(), nil, &rep); err != nil {
			t.Fatal(err)
		}
		hour := time.Now().In(loc).Hour()
		if len(rep.Days) != 1 || rep.Days[0] != today || rep.PerDay[0] != 3 || rep.PerHour[hour] != 3 || rep.Conversations != 3 {
			t.Fatalf("counts %+v (hour %d)", rep, hour)
		}
		if rep.FirstResponse.Count != 3 || rep.Resolution.Count != 2 {
			t.Fatalf("durations %+v", rep)
		}
		if rep.CSAT[3] != 1 || rep.CSAT[4] != 1 || rep.CSATAverage != 4.5 {
			t.Fatalf("csat %+v avg %v", rep.CSAT, rep.CSATAverage)
		}
		if _, err := ag.Do(ctx, http.MethodGet, "/api/v1/reports?"+q.Encode(), nil, nil); !strings.Contains(fmt.Sprint(err), "403") {
			t.Fatalf("an agent reading reports: %v, want 403", err)
		}
		bad := url.Values{"from": {today}, "to": {today}, "tz": {"Nowhere/City"}}
		if _, err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/reports?"+bad.Encode(), nil, nil); !strings.Contains(fmt.Sprint(err), "400") {
			t.Fatalf("a bad time zone: %v, want 400", err)
		}
	})
}
