package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Result is the benchmark's output object (PERFORMANCE.md, "The benchmark's outside contract"). The fields
// of the contract keep their names; Extra holds more, written after them at the top level.
type Result struct {
	Scenario          string         `json:"scenario"`
	Store             string         `json:"store"`
	Params            map[string]any `json:"params"`
	OfferedRate       float64        `json:"offered_rate"`
	AchievedRate      float64        `json:"achieved_rate"`
	DurationS         float64        `json:"duration_s"`
	Sent              int64          `json:"sent"`
	Acked             int64          `json:"acked"`
	Delivered         int64          `json:"delivered"`
	Lost              int64          `json:"lost"`
	Duplicated        int64          `json:"duplicated"`
	Reordered         int64          `json:"reordered"`
	Errors            int64          `json:"errors"`
	LatencyMS         Latency        `json:"latency_ms"`
	ServerCPUUSPerMsg *float64       `json:"server_cpu_us_per_msg"`
	ServerRSSBytes    int64          `json:"server_rss_bytes"`
	RSSPerConnBytes   *float64       `json:"rss_per_conn_bytes"`

	MaxRate           *float64 `json:"max_rate,omitempty"`            // S2
	Connections       *int     `json:"connections,omitempty"`         // S3
	ConversationsPerS *float64 `json:"conversations_per_s,omitempty"` // S5
	MessagesStored    *int64   `json:"messages_stored,omitempty"`     // S6
	Kills             *int     `json:"kills,omitempty"`               // S9
	LoaderGzipBytes   *int     `json:"loader_gzip_bytes,omitempty"`   // W1

	Extra map[string]any `json:"-"`
}

// Failed reports whether the run broke the delivery contract or had errors: the only reasons for a non-zero
// exit. Timings never fail a run.
func (r *Result) Failed() bool {
	return r.Lost > 0 || r.Duplicated > 0 || r.Reordered > 0 || r.Errors > 0
}

// BusyMachine says, when the machine did much besides the benchmark during the measured window (another
// process took at least a fifth of a CPU, or the hypervisor stole at least 5 %), how much: such a run's
// timings are partly the neighbours'. Empty otherwise, and when the run has no such figures.
func (r *Result) BusyMachine() string {
	var what []string
	if other := extraFloat(r, "other_cpu_pct"); other != nil && *other >= 20 {
		what = append(what, fmt.Sprintf("other processes took %.0f %% of a CPU", *other))
	}
	if steal := extraFloat(r, "steal_pct"); steal != nil && *steal >= 5 {
		what = append(what, fmt.Sprintf("the hypervisor stole %.0f %% of a CPU", *steal))
	}
	if len(what) == 0 {
		return ""
	}
	return "the machine was busy besides the benchmark: " + strings.Join(what, " and ") +
		"; compare timings only with runs interleaved on the same machine"
}

// JSON renders the result: the contract's fields in their order, then the extra fields sorted by name.
func (r *Result) JSON() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if len(r.Extra) > 0 {
		keys := make([]string, 0, len(r.Extra))
		for k := range r.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var buf bytes.Buffer
		buf.Write(b[:len(b)-1])
		for _, k := range keys {
			v, err := json.Marshal(r.Extra[k])
			if err != nil {
				return nil, err
			}
			kb, _ := json.Marshal(k)
			buf.WriteByte(',')
			buf.Write(kb)
			buf.WriteByte(':')
			buf.Write(v)
		}
		buf.WriteByte('}')
		b = buf.Bytes()
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }

// round2 rounds to two decimals.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Slope fits y = a + b·x by least squares and returns b.
func Slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return math.NaN()
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return math.NaN()
	}
	return (n*sxy - sx*sy) / d
}
