package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestBucketsRoundTrip(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 1023, 1024, 1025, 2047, 2048, 4095, 4096, 1e6, 1e8, 1 << 40} {
		b := bucketOf(v)
		lo, hi := bucketRange(b)
		if v < lo || v > hi {
			t.Fatalf("%d in bucket %d = [%d, %d]", v, b, lo, hi)
		}
		if b < prev {
			t.Fatalf("bucket of %d (%d) below the previous (%d)", v, b, prev)
		}
		prev = b
		if v >= 1024 && float64(hi-lo+1)/float64(lo) > 1.0/512+1e-9 {
			t.Fatalf("bucket of %d is %d wide: more than 0.2%%", v, hi-lo+1)
		}
	}
}

// exact returns the nearest-rank quantile of sorted values.
func exact(sorted []int64, q float64) float64 {
	r := int(math.Ceil(q * float64(len(sorted))))
	return float64(sorted[min(max(r, 1), len(sorted))-1])
}

func TestQuantilesMatchNearestRank(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(r *rand.Rand) int64
	}{
		{"uniform small", func(r *rand.Rand) int64 { return r.Int64N(1000) }},
		{"exponential", func(r *rand.Rand) int64 { return int64(r.ExpFloat64() * 2000) }},
		{"heavy tail", func(r *rand.Rand) int64 { return int64(math.Pow(10, 2+4*r.Float64())) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			h := NewHist()
			var vals []int64
			for i := 0; i < 20000; i++ {
				v := tc.gen(r)
				vals = append(vals, v)
				h.RecordUS(v)
			}
			sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
				want, got := exact(vals, q), h.Quantile(q)
				if math.Abs(got-want) > math.Max(1, want*0.002) {
					t.Errorf("q%.3f: got %.1f, want %.1f", q, got, want)
				}
			}
			if h.Quantile(1) != float64(vals[len(vals)-1]) {
				t.Errorf("max %v, want %d", h.Quantile(1), vals[len(vals)-1])
			}
		})
	}
}

func TestQuantileSmallSets(t *testing.T) {
	h := NewHist()
	if h.Quantile(0.99) != 0 || h.Summary() != (Latency{}) {
		t.Fatal("an empty histogram must report zeros")
	}
	for _, v := range []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10} {
		h.RecordUS(v * 1000) // 1..10 ms
	}
	// Nearest rank: p50 of ten values is the 5th, p90 the 9th, p99 the 10th.
	for q, want := range map[float64]float64{0.5: 5000, 0.9: 9000, 0.99: 10000} {
		if got := h.Quantile(q); math.Abs(got-want) > want*0.002 {
			t.Errorf("q%.2f = %.1f, want %.0f", q, got, want)
		}
	}
	s := h.Summary()
	if s.Max != 10 || s.N != 10 || math.Abs(s.Mean-5.5) > 0.01 {
		t.Fatalf("summary %+v", s)
	}
}

func TestMergeAndJSON(t *testing.T) {
	a, b, all := NewHist(), NewHist(), NewHist()
	for i := int64(0); i < 1000; i++ {
		a.RecordUS(i * 7)
		b.RecordUS(i * 13)
		all.RecordUS(i * 7)
		all.RecordUS(i * 13)
	}
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back *Hist
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	a.Merge(back)
	if a.Summary() != all.Summary() {
		t.Fatalf("merged %+v, want %+v", a.Summary(), all.Summary())
	}
}

func TestSlope(t *testing.T) {
	xs := []float64{0, 1000, 2000, 3000}
	ys := []float64{5e6, 5e6 + 8e6, 5e6 + 16e6, 5e6 + 24e6}
	if s := Slope(xs, ys); math.Abs(s-8000) > 1e-6 {
		t.Fatalf("slope %v, want 8000", s)
	}
	if !math.IsNaN(Slope([]float64{1}, []float64{1})) {
		t.Fatal("one point has no slope")
	}
}

func TestParseBody(t *testing.T) {
	e := NewEngine(EngineSpec{BodyBytes: 100})
	b := e.body(3, timeFromNanos(1234567890123))
	p, ts, ok := parseBody(b)
	if !ok || p != 3 || ts != 1234567890123 || len(b) != 100 {
		t.Fatalf("parsed %d %d %v from %q", p, ts, ok, b)
	}
	if _, _, ok := parseBody("hello"); ok {
		t.Fatal("a foreign body parsed")
	}
}

func timeFromNanos(n int64) time.Time { return time.Unix(0, n) }

// A phase's deliveries second by second: each generator records by the intended second, its result crosses
// the process boundary as JSON, the coordinator merges them, and Seconds lists every second from the first to
// the last, an empty one with n 0.
func TestPhaseSeconds(t *testing.T) {
	const sec = int64(time.Second)
	base := int64(1_800_000_000) * sec
	a, b := newPhaseResult(), newPhaseResult()
	for i := range 100 {
		a.recordDelivery(base+int64(i)*sec/100, 2000) // second 0: 100 deliveries at 2 ms
	}
	a.recordDelivery(base+3*sec, 90_000) // second 3: one at 90 ms
	b.recordDelivery(base+sec/2, 40_000) // second 0 again, from another generator: 40 ms
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var got PhaseResult
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	a.merge(&got)
	s := a.Seconds()
	if len(s) != 4 {
		t.Fatalf("%d seconds, want 4: %+v", len(s), s)
	}
	if s[0].N != 101 || s[0].Max != 40 || s[0].P99 < 1.99 || s[0].P99 > 2.01 {
		t.Errorf("second 0: %+v, want 101 deliveries, p99 2 ms, max 40 ms", s[0])
	}
	if s[1].N != 0 || s[2].N != 0 || s[1].S != 1 {
		t.Errorf("seconds 1 and 2: %+v %+v, want empty", s[1], s[2])
	}
	if s[3].S != 3 || s[3].N != 1 || s[3].P99 < 89.9 || s[3].P99 > 90.1 {
		t.Errorf("second 3: %+v, want one delivery at 90 ms", s[3])
	}
	if a.Hist.Count() != 102 {
		t.Errorf("the phase's histogram holds %d, want 102", a.Hist.Count())
	}
}

// The server's histograms are read as Prometheus exposes them: buckets added up over label sets, quantiles
// interpolated inside a bucket like histogram_quantile, counts above a bound.
func TestPromHistogram(t *testing.T) {
	text := `# HELP parley_ack_latency_seconds x
# TYPE parley_ack_latency_seconds histogram
parley_ack_latency_seconds_bucket{channel="web",le="0.01"} 50
parley_ack_latency_seconds_bucket{channel="web",le="0.025"} 90
parley_ack_latency_seconds_bucket{channel="web",le="0.05"} 95
parley_ack_latency_seconds_bucket{channel="web",le="+Inf"} 100
parley_ack_latency_seconds_bucket{channel="app",le="0.01"} 50
parley_ack_latency_seconds_bucket{channel="app",le="0.025"} 90
parley_ack_latency_seconds_bucket{channel="app",le="0.05"} 100
parley_ack_latency_seconds_bucket{channel="app",le="+Inf"} 100
parley_ack_latency_seconds_sum{channel="app"} 1
parley_ack_latency_seconds_count{channel="app"} 100
parley_ack_latency_seconds_extra_bucket{le="0.01"} 7
`
	b := parsePromHistogram(text, "parley_ack_latency_seconds")
	want := []promBucket{{0.01, 100}, {0.025, 180}, {0.05, 195}, {math.Inf(1), 200}}
	if len(b) != len(want) {
		t.Fatalf("buckets %v, want %v", b, want)
	}
	for i := range want {
		if b[i] != want[i] {
			t.Fatalf("buckets %v, want %v", b, want)
		}
	}
	// The median (rank 100) is the first bucket's bound; the 0.95 quantile (rank 190) lies two thirds into
	// (0.025, 0.05]; the 0.99 quantile (rank 198) is in +Inf: the largest finite bound.
	for _, c := range []struct{ q, want float64 }{{0.5, 0.01}, {0.25, 0.005}, {0.95, 0.025 + 0.025*10/15}, {0.99, 0.05}} {
		if got := promQuantile(b, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("quantile %v = %v, want %v", c.q, got, c.want)
		}
	}
	if got := promAbove(b, 0.025); got != 20 {
		t.Errorf("above 25 ms: %v, want 20", got)
	}
	if got := promAbove(b, 0.02); !math.IsNaN(got) {
		t.Errorf("above a bound that is not a bucket's: %v, want NaN", got)
	}
	if got := promQuantile(nil, 0.99); !math.IsNaN(got) {
		t.Errorf("quantile without observations: %v, want NaN", got)
	}
	// With a label, only that label set's buckets.
	app := parsePromHistogram(text, "parley_ack_latency_seconds", `channel="app"`)
	wantApp := []promBucket{{0.01, 50}, {0.025, 90}, {0.05, 100}, {math.Inf(1), 100}}
	if fmt.Sprint(app) != fmt.Sprint(wantApp) {
		t.Errorf("app's buckets %v, want %v", app, wantApp)
	}
	if none := parsePromHistogram(text, "parley_ack_latency_seconds", `channel="wechat"`); len(none) != 0 {
		t.Errorf("an absent label's buckets: %v, want none", none)
	}
}

// What a histogram counted between two readings (S10's server_by_second): bucket by bucket, from zero when the
// histogram appeared in between, nothing when its buckets changed or it is gone.
func TestPromDelta(t *testing.T) {
	prev := []promBucket{{0.01, 10}, {0.025, 12}, {math.Inf(1), 13}}
	cur := []promBucket{{0.01, 15}, {0.025, 30}, {math.Inf(1), 40}}
	d := promDelta(cur, prev)
	if want := []promBucket{{0.01, 5}, {0.025, 18}, {math.Inf(1), 27}}; fmt.Sprint(d) != fmt.Sprint(want) {
		t.Fatalf("delta %v, want %v", d, want)
	}
	// The second's p99 (rank 26.73 of 27) is inside (0.025, +Inf]: the largest finite bound, 25 ms.
	if q := promQuantile(d, 0.99); q != 0.025 {
		t.Errorf("p99 of the delta %v, want 0.025", q)
	}
	if d := promDelta(cur, nil); fmt.Sprint(d) != fmt.Sprint(cur) {
		t.Errorf("delta from nothing %v, want %v", d, cur)
	}
	if d := promDelta(nil, prev); d != nil {
		t.Errorf("delta of a histogram that is gone: %v, want nil", d)
	}
	if d := promDelta(cur, []promBucket{{0.01, 1}, {math.Inf(1), 2}}); d != nil {
		t.Errorf("delta across different buckets: %v, want nil", d)
	}
	if d := promDelta(cur, []promBucket{{0.01, 1}, {0.05, 1}, {math.Inf(1), 2}}); d != nil {
		t.Errorf("delta across different bounds: %v, want nil", d)
	}
}
