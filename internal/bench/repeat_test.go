package bench

import (
	"testing"
)

func fakeRun(p50, p99 float64, lost int64) *Result {
	return &Result{Scenario: "S1", AchievedRate: 2000 - p99, LatencyMS: Latency{P50: p50, P99: p99}, Lost: lost,
		ServerCPUUSPerMsg: ptr(p99 * 10), Extra: map[string]any{"p99": p99}}
}

// The summary of several runs is the median run by p99, every run's figures, each figure's median and
// spread; a loss in any run is the summary's.
func TestSummarize(t *testing.T) {
	runs := []*Result{fakeRun(5, 300, 0), fakeRun(2, 20, 0), fakeRun(9, 900, 0)}
	s := Summarize(runs)
	if s.LatencyMS.P99 != 300 || s.Extra["p99"] != 300.0 || s.Extra["median_run"] != 1 {
		t.Fatalf("median run: p99 %v, extra %v", s.LatencyMS.P99, s.Extra)
	}
	med := s.Extra["median"].(map[string]Spread)
	if med["p99_ms"] != (Spread{Median: 300, Min: 20, Max: 900}) || med["p50_ms"] != (Spread{Median: 5, Min: 2, Max: 9}) ||
		med["server_cpu_us_per_msg"].Median != 3000 {
		t.Fatalf("medians %+v", med)
	}
	if figs := s.Extra["runs"].([]RunFigures); len(figs) != 3 || figs[2].P99 != 900 {
		t.Fatalf("runs %+v", figs)
	}
	if runs[0].Extra["median"] != nil {
		t.Fatal("the runs themselves were changed")
	}

	// An even count: the better of the middle two is the run, the median is their mean; one run's loss fails
	// the summary.
	s = Summarize([]*Result{fakeRun(1, 10, 0), fakeRun(4, 40, 0), fakeRun(2, 20, 3), fakeRun(3, 30, 0)})
	if s.LatencyMS.P99 != 20 || s.Lost != 3 || !s.Failed() {
		t.Fatalf("even: p99 %v lost %d", s.LatencyMS.P99, s.Lost)
	}
	if med := s.Extra["median"].(map[string]Spread); med["p99_ms"].Median != 25 {
		t.Fatalf("even median %+v", med["p99_ms"])
	}

	// S2 is judged by its maximum rate, higher first.
	a, b, c := fakeRun(1, 10, 0), fakeRun(1, 10, 0), fakeRun(1, 10, 0)
	for i, r := range []*Result{a, b, c} {
		r.Scenario, r.MaxRate = "S2", ptr(float64(1000*(i+1)))
	}
	if s := Summarize([]*Result{a, b, c}); *s.MaxRate != 2000 || s.Extra["median"].(map[string]Spread)["max_rate"].Max != 3000 {
		t.Fatalf("S2 median max_rate %v", *s.MaxRate)
	}

	// S10 is judged by the others' p99 over the first half's: the median run is the median ratio, whatever
	// the p99s, and the ratio's spread is reported.
	runs = []*Result{fakeRun(1, 10, 0), fakeRun(1, 20, 0), fakeRun(1, 30, 0)}
	for i, ratio := range []float64{1.5, 0.9, 1.2} {
		runs[i].Scenario, runs[i].Extra["p99_ratio"] = "S10", ratio
	}
	s = Summarize(runs)
	if s.Extra["p99_ratio"] != 1.2 || s.Extra["median_run"] != 3 {
		t.Fatalf("S10 median run: ratio %v, run %v; want 1.2, run 3", s.Extra["p99_ratio"], s.Extra["median_run"])
	}
	if med := s.Extra["median"].(map[string]Spread); med["p99_ratio"] != (Spread{Median: 1.2, Min: 0.9, Max: 1.5}) {
		t.Fatalf("S10 ratio spread %+v", med["p99_ratio"])
	}
	if figs := s.Extra["runs"].([]RunFigures); figs[1].P99Ratio == nil || *figs[1].P99Ratio != 0.9 {
		t.Fatalf("S10 runs %+v", figs)
	}

	// One run is itself.
	if r := fakeRun(1, 2, 0); Summarize([]*Result{r}) != r {
		t.Fatal("one run was not returned as it is")
	}
}
