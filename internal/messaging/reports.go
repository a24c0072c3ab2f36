package messaging

import (
	"context"
	"slices"
	"time"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
)

// reportRowLimit bounds the conversations one report reads; a range with more is reported as truncated.
const reportRowLimit = 200000

// Report is what the reports page draws for a date range, in the viewer's time zone.
type Report struct {
	Days          []string          `json:"days"`             // YYYY-MM-DD in the viewer's zone
	PerDay        []int             `json:"per_day"`          // conversations started each day
	PerHour       [24]int           `json:"per_hour"`         // by local hour of the day
	FirstResponse Durations         `json:"first_response_s"` // start to the first agent message
	Resolution    Durations         `json:"resolution_s"`     // start to close
	CSAT          [5]int            `json:"csat"`             // ratings 1..5
	CSATAverage   float64           `json:"csat_average"`     // 0 without ratings
	AgentLoad     map[string][]int  `json:"agent_load"`       // agent id -> conversations assigned each day
	AgentNames    map[string]string `json:"agent_names"`
	Truncated     bool              `json:"truncated"`
	Conversations int               `json:"conversations"`
}

// Durations summarizes a set of durations in seconds.
type Durations struct {
	Count  int     `json:"count"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

func summarize(ds []float64) Durations {
	if len(ds) == 0 {
		return Durations{}
	}
	slices.Sort(ds)
	at := func(q float64) float64 { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Durations{Count: len(ds), Median: at(0.5), P90: at(0.9)}
}

// Report builds the report of the days from..to (inclusive, YYYY-MM-DD) in the time zone tz, for supervisors
// and admins. Data is stored in UTC; days and hours are the viewer's.
func (s *Service) Report(ctx context.Context, p *auth.Principal, from, to, tz string) (*Report, error) {
	if p == nil || p.Agent == nil || !p.Agent.Role.SeesAllTeams() {
		return nil, chat.Errorf(chat.CodeForbidden, "only supervisors and admins see reports")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return nil, chat.Invalid("tz", "tz must be an IANA time zone such as Asia/Shanghai")
	}
	start, err1 := time.ParseInLocation("2006-01-02", from, loc)
	end, err2 := time.ParseInLocation("2006-01-02", to, loc)
	if err1 != nil || err2 != nil || end.Before(start) || end.Sub(start) > 366*24*time.Hour {
		return nil, chat.Invalid("from", "from and to are dates (YYYY-MM-DD), from <= to, at most a year apart")
	}
	end = end.AddDate(0, 0, 1)
	rep := &Report{AgentLoad: map[string][]int{}, AgentNames: map[string]string{}}
	index := map[string]int{}
	for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
		index[d.Format("2006-01-02")] = len(rep.Days)
		rep.Days = append(rep.Days, d.Format("2006-01-02"))
	}
	rep.PerDay = make([]int, len(rep.Days))
	rows, err := s.st.ReportRows(ctx, start, end, reportRowLimit)
	if err != nil {
		return nil, err
	}
	rep.Truncated, rep.Conversations = len(rows) == reportRowLimit, len(rows)
	var first, resolution []float64
	for _, r := range rows {
		local := r.CreatedAt.In(loc)
		if i, ok := index[local.Format("2006-01-02")]; ok {
			rep.PerDay[i]++
		}
		rep.PerHour[local.Hour()]++
		if !r.FirstResponseAt.IsZero() {
			first = append(first, r.FirstResponseAt.Sub(r.CreatedAt).Seconds())
		}
		if !r.ClosedAt.IsZero() {
			resolution = append(resolution, r.ClosedAt.Sub(r.CreatedAt).Seconds())
		}
		if r.AgentID != "" && !r.AssignedAt.IsZero() {
			if i, ok := index[r.AssignedAt.In(loc).Format("2006-01-02")]; ok {
				load := rep.AgentLoad[r.AgentID]
				if load == nil {
					load = make([]int, len(rep.Days))
					rep.AgentLoad[r.AgentID] = load
				}
				load[i]++
			}
		}
	}
	rep.FirstResponse, rep.Resolution = summarize(first), summarize(resolution)
	scores, err := s.st.RatingScores(ctx, start, end, reportRowLimit)
	if err != nil {
		return nil, err
	}
	sum := 0
	for _, v := range scores {
		if v >= 1 && v <= 5 {
			rep.CSAT[v-1]++
			sum += v
		}
	}
	if len(scores) > 0 {
		rep.CSATAverage = float64(sum) / float64(len(scores))
	}
	for id := range rep.AgentLoad {
		if a, err := s.st.Agent(ctx, id); err == nil {
			rep.AgentNames[id] = a.Name
		}
	}
	return rep, nil
}
