package bench

import (
	"encoding/json"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Hist is a latency histogram in microseconds with bounded memory and a relative error under 0.2 %: values
// below 1,024 µs are counted exactly, larger ones in 512 sub-buckets per power of two. It merges by adding
// counts, so each generator process keeps its own and the coordinator adds them up. It is not safe for
// concurrent use.
type Hist struct {
	counts map[int]uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

const subBuckets = 512

// NewHist returns an empty histogram.
func NewHist() *Hist { return &Hist{counts: map[int]uint64{}, min: math.MaxInt64} }

// bucketOf returns the bucket index of a value in µs.
func bucketOf(us int64) int {
	if us < 2*subBuckets {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 10 // us >> e is in [512, 1024)
	return 2*subBuckets + (e-1)*subBuckets + int(uint64(us)>>uint(e)) - subBuckets
}

// bucketRange returns the smallest and largest value of a bucket.
func bucketRange(b int) (lo, hi int64) {
	if b < 2*subBuckets {
		return int64(b), int64(b)
	}
	e := (b-2*subBuckets)/subBuckets + 1
	m := int64((b-2*subBuckets)%subBuckets + subBuckets)
	return m << uint(e), (m+1)<<uint(e) - 1
}

// Record adds one latency.
func (h *Hist) Record(d time.Duration) { h.RecordUS(d.Microseconds()) }

// RecordUS adds one latency given in microseconds; negative values count as 0.
func (h *Hist) RecordUS(us int64) {
	us = max(us, 0)
	h.counts[bucketOf(us)]++
	h.n++
	h.sum += float64(us)
	h.min = min(h.min, us)
	h.max = max(h.max, us)
}

// Count is the number of recorded values.
func (h *Hist) Count() uint64 { return h.n }

// Merge adds o's values to h.
func (h *Hist) Merge(o *Hist) {
	if o == nil {
		return
	}
	for b, c := range o.counts {
		h.counts[b] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Quantile returns the value (µs) at quantile q in [0, 1] by the nearest-rank rule: the smallest recorded
// value such that at least q of all values are at or below it. Inside a bucket it answers the bucket's middle,
// clamped to the exact minimum and maximum.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return float64(h.max)
	}
	if rank == 1 {
		return float64(h.min)
	}
	keys := make([]int, 0, len(h.counts))
	for b := range h.counts {
		keys = append(keys, b)
	}
	sort.Ints(keys)
	var seen uint64
	for _, b := range keys {
		seen += h.counts[b]
		if seen >= rank {
			lo, hi := bucketRange(b)
			v := float64(lo+hi) / 2
			return math.Min(math.Max(v, float64(h.min)), float64(h.max))
		}
	}
	return float64(h.max)
}

// Latency is the latency summary of the result format, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	N    uint64  `json:"n"`
}

// Summary returns the percentiles in milliseconds, rounded to 0.01 ms.
func (h *Hist) Summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	ms := func(us float64) float64 { return math.Round(us/10) / 100 }
	return Latency{P50: ms(h.Quantile(0.50)), P90: ms(h.Quantile(0.90)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(float64(h.max)), Mean: ms(h.sum / float64(h.n)), N: h.n}
}

type histJSON struct {
	Counts map[int]uint64 `json:"c"`
	N      uint64         `json:"n"`
	Sum    float64        `json:"s"`
	Min    int64          `json:"lo"`
	Max    int64          `json:"hi"`
}

// MarshalJSON lets generator processes send their histograms to the coordinator.
func (h *Hist) MarshalJSON() ([]byte, error) {
	return json.Marshal(histJSON{h.counts, h.n, h.sum, h.min, h.max})
}

// UnmarshalJSON is MarshalJSON's inverse.
func (h *Hist) UnmarshalJSON(b []byte) error {
	var v histJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Counts == nil {
		v.Counts = map[int]uint64{}
	}
	*h = Hist{counts: v.Counts, n: v.N, sum: v.Sum, min: v.Min, max: v.Max}
	return nil
}

// promBucket is one cumulative bucket of a Prometheus histogram: the count of observations ≤ le.
type promBucket struct {
	le    float64 // +Inf for the last
	count float64
}

// parsePromHistogram adds up the buckets of the histogram name over all its label sets (e.g. every channel)
// from a Prometheus text exposition, in ascending order of le; with labels, over the label sets that hold every
// one of them (each written as in the exposition, e.g. `route="GET /x"`).
func parsePromHistogram(text, name string, labels ...string) []promBucket {
	sums := map[float64]float64{}
	prefix := name + "_bucket{"
lines:
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		for _, l := range labels {
			if !strings.Contains(line, l) {
				continue lines
			}
		}
		i := strings.Index(line, `le="`)
		j := strings.LastIndexByte(line, ' ')
		if i < 0 || j < i {
			continue
		}
		leText := line[i+4:]
		leText = leText[:strings.IndexByte(leText, '"')]
		le, err1 := strconv.ParseFloat(leText, 64) // "+Inf" parses as +Inf
		v, err2 := strconv.ParseFloat(line[j+1:], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		sums[le] += v
	}
	out := make([]promBucket, 0, len(sums))
	for le, c := range sums {
		out = append(out, promBucket{le, c})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].le < out[b].le })
	return out
}

// promQuantile estimates the q-quantile of cumulative buckets as Prometheus's histogram_quantile does: linear
// interpolation inside the bucket that holds it, the lower bound of the first bucket taken as 0. A quantile in
// the +Inf bucket is the largest finite bound. It returns NaN without observations. The estimate is only as
// fine as the buckets (the server's latency buckets are 0.5, 1, 2, 5, 10, 25, 50, 100 ms, …).
func promQuantile(b []promBucket, q float64) float64 {
	if len(b) == 0 || b[len(b)-1].count == 0 {
		return math.NaN()
	}
	rank := q * b[len(b)-1].count
	lo, below := 0.0, 0.0
	for _, x := range b {
		if x.count >= rank {
			if math.IsInf(x.le, 1) {
				return lo
			}
			if x.count == below {
				return x.le
			}
			return lo + (x.le-lo)*(rank-below)/(x.count-below)
		}
		lo, below = x.le, x.count
	}
	return lo
}

// promDelta is what cumulative buckets counted between two readings of the same histogram (cur minus prev), or
// nil when either reading lacks it or their buckets differ; a histogram absent before and present now counts
// from zero.
func promDelta(cur, prev []promBucket) []promBucket {
	if len(cur) == 0 || (len(prev) != 0 && len(prev) != len(cur)) {
		return nil
	}
	out := make([]promBucket, len(cur))
	for i, x := range cur {
		out[i] = x
		if len(prev) != 0 {
			if prev[i].le != x.le {
				return nil
			}
			out[i].count -= prev[i].count
		}
	}
	return out
}

// promAbove is how many observations of cumulative buckets exceeded bound, which must be one of their le.
func promAbove(b []promBucket, bound float64) float64 {
	if len(b) == 0 {
		return 0
	}
	for _, x := range b {
		if x.le == bound {
			return b[len(b)-1].count - x.count
		}
	}
	return math.NaN()
}
