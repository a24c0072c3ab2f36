package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
)

// RunFigures are the figures of one run that a median over several runs reports.
type RunFigures struct {
	AchievedRate    float64  `json:"achieved_rate"`
	P50             float64  `json:"p50_ms"`
	P99             float64  `json:"p99_ms"`
	ServerCPUUS     *float64 `json:"server_cpu_us_per_msg,omitempty"`
	RSSPerConnBytes *float64 `json:"rss_per_conn_bytes,omitempty"`
	MaxRate         *float64 `json:"max_rate,omitempty"`
	P99Ratio        *float64 `json:"p99_ratio,omitempty"`     // S10: the others' p99 over the first half's
	OtherCPUPct     *float64 `json:"other_cpu_pct,omitempty"` // the machine's other work during the run
	StealPct        *float64 `json:"steal_pct,omitempty"`
	Failed          bool     `json:"failed,omitempty"`
}

func figuresOf(r *Result) RunFigures {
	return RunFigures{AchievedRate: r.AchievedRate, P50: r.LatencyMS.P50, P99: r.LatencyMS.P99,
		ServerCPUUS: r.ServerCPUUSPerMsg, RSSPerConnBytes: r.RSSPerConnBytes, MaxRate: r.MaxRate,
		P99Ratio: p99Ratio(r), OtherCPUPct: extraFloat(r, "other_cpu_pct"), StealPct: extraFloat(r, "steal_pct"),
		Failed: r.Failed()}
}

// extraFloat is a number of the result's scenario-specific fields, nil when the run has none.
func extraFloat(r *Result, key string) *float64 {
	if v, ok := r.Extra[key].(float64); ok {
		return &v
	}
	return nil
}

// p99Ratio is S10's p99_ratio, nil when the run has none.
func p99Ratio(r *Result) *float64 {
	return extraFloat(r, "p99_ratio")
}

// Spread is the median of a figure over the runs, with its lowest and highest value.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spreadOf(vs []float64) Spread {
	if len(vs) == 0 {
		return Spread{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: round2(m), Min: s[0], Max: s[len(s)-1]}
}

// headline is the figure a scenario is judged by, lower is better unless higher says otherwise: S2 its
// maximum rate, S3 the memory per connection, S10 the others' p99 over the first half's, the others their p99
// latency.
func headline(scenario string, r *Result) (v float64, higher bool) {
	switch {
	case scenario == "S2" && r.MaxRate != nil:
		return *r.MaxRate, true
	case scenario == "S3" && r.RSSPerConnBytes != nil:
		return *r.RSSPerConnBytes, false
	case scenario == "S10" && p99Ratio(r) != nil:
		return *p99Ratio(r), false
	}
	return r.LatencyMS.P99, false
}

// Summarize turns several runs of one scenario into one result: the run whose headline figure is the median
// (an odd count has one; an even count takes the better of the middle two) with, in "runs", every run's
// figures, and in "median", each figure's median and spread over the runs. The result fails when any run did.
func Summarize(runs []*Result) *Result {
	if len(runs) == 1 {
		return runs[0]
	}
	order := make([]int, len(runs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		va, higher := headline(runs[a].Scenario, runs[a])
		vb, _ := headline(runs[b].Scenario, runs[b])
		if higher {
			va, vb = -va, -vb
		}
		switch {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return 0
	})
	mid := *runs[order[(len(runs)-1)/2]]
	mid.Extra = map[string]any{}
	for k, v := range runs[order[(len(runs)-1)/2]].Extra {
		mid.Extra[k] = v
	}
	figs := make([]RunFigures, len(runs))
	var rate, p50, p99, cpu, rss, maxRate, ratio []float64
	for i, r := range runs {
		figs[i] = figuresOf(r)
		rate, p50, p99 = append(rate, r.AchievedRate), append(p50, r.LatencyMS.P50), append(p99, r.LatencyMS.P99)
		if r.ServerCPUUSPerMsg != nil {
			cpu = append(cpu, *r.ServerCPUUSPerMsg)
		}
		if r.RSSPerConnBytes != nil {
			rss = append(rss, *r.RSSPerConnBytes)
		}
		if r.MaxRate != nil {
			maxRate = append(maxRate, *r.MaxRate)
		}
		if v := p99Ratio(r); v != nil {
			ratio = append(ratio, *v)
		}
		// Any run's loss, duplicate, reorder or error is the summary's: a median must not hide one.
		mid.Lost, mid.Duplicated, mid.Reordered, mid.Errors = max(mid.Lost, r.Lost), max(mid.Duplicated, r.Duplicated),
			max(mid.Reordered, r.Reordered), max(mid.Errors, r.Errors)
	}
	med := map[string]Spread{"achieved_rate": spreadOf(rate), "p50_ms": spreadOf(p50), "p99_ms": spreadOf(p99)}
	if len(cpu) > 0 {
		med["server_cpu_us_per_msg"] = spreadOf(cpu)
	}
	if len(rss) > 0 {
		med["rss_per_conn_bytes"] = spreadOf(rss)
	}
	if len(maxRate) > 0 {
		med["max_rate"] = spreadOf(maxRate)
	}
	if len(ratio) > 0 {
		med["p99_ratio"] = spreadOf(ratio)
	}
	mid.Extra["runs"] = figs
	mid.Extra["median"] = med
	mid.Extra["median_run"] = order[(len(runs)-1)/2] + 1
	return &mid
}

// Repeat runs the scenario n times (each on a fresh server and database), after one discarded warm-up run
// when warmup is set, and summarizes them (Summarize).
func Repeat(ctx context.Context, o Options, n int, warmup bool) (*Result, error) {
	if n < 1 || n > 9 {
		return nil, fmt.Errorf("-runs must be 1 to 9")
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if warmup {
		fmt.Fprintf(o.Stderr, "parley-bench %s: warm-up run (discarded)\n", o.Scenario)
		if _, err := Run(ctx, o); err != nil {
			return nil, err
		}
	}
	var runs []*Result
	for i := range n {
		if n > 1 {
			fmt.Fprintf(o.Stderr, "parley-bench %s: run %d of %d\n", o.Scenario, i+1, n)
		}
		r, err := Run(ctx, o)
		if err != nil {
			return nil, err
		}
		if n > 1 {
			f := figuresOf(r)
			fmt.Fprintf(o.Stderr, "parley-bench %s: run %d: achieved %.1f/s p50 %.2f ms p99 %.2f ms\n", o.Scenario, i+1, f.AchievedRate, f.P50, f.P99)
		}
		runs = append(runs, r)
	}
	return Summarize(runs), nil
}
