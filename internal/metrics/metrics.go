// Package metrics defines every Prometheus metric Parley exports, on a private registry (no global state), and
// serves them at /metrics. docs/operations.md lists them; a change here changes that document.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors. Create one per server with New.
type Metrics struct {
	Registry *prometheus.Registry

	HTTPRequests *prometheus.CounterVec   // parley_http_requests_total{route,method,code}
	HTTPDuration *prometheus.HistogramVec // parley_http_request_duration_seconds{route}
	Panics       prometheus.Counter       // parley_panics_recovered_total
	Logins       *prometheus.CounterVec   // parley_logins_total{outcome}

	MessagesReceived  *prometheus.CounterVec   // parley_messages_received_total{channel,type}
	MessagesDelivered *prometheus.CounterVec   // parley_messages_delivered_total{transport}
	FramesSent        prometheus.Counter       // parley_ws_frames_sent_total
	Connections       *prometheus.GaugeVec     // parley_connections{transport}
	CommitBatch       prometheus.Histogram     // parley_commit_batch_size
	CommitDuration    prometheus.Histogram     // parley_commit_duration_seconds
	CommitErrors      prometheus.Counter       // parley_commit_errors_total
	AckLatency        *prometheus.HistogramVec // parley_ack_latency_seconds{channel}
	Resumes           *prometheus.CounterVec   // parley_resumes_total{outcome}
	SubscribeDuration prometheus.Histogram     // parley_subscribe_duration_seconds
	SlowConsumers     prometheus.Counter       // parley_slow_consumer_disconnects_total

	QueueLength   *prometheus.GaugeVec   // parley_queue_length{team}
	QueueWait     prometheus.Histogram   // parley_queue_wait_seconds
	Offers        *prometheus.CounterVec // parley_offers_total{outcome}
	AssignLatency prometheus.Histogram   // parley_assignment_latency_seconds
}

// New registers the Go and process collectors and Parley's own metrics on a new registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern (long-poll and WebSocket excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		Panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_panics_recovered_total",
			Help: "Panics recovered in request handlers and connection goroutines (each one is a bug).",
		}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_logins_total",
			Help: "Agent login attempts by outcome: ok, failed, throttled.",
		}, []string{"outcome"}),
	}
	m.MessagesReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_messages_received_total",
		Help: "Messages stored (duplicates of retried sends excluded), by channel and message type.",
	}, []string{"channel", "type"})
	m.MessagesDelivered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_messages_delivered_total",
		Help: "Message frames handed to clients, by transport (websocket, longpoll); replays included.",
	}, []string{"transport"})
	m.FramesSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_ws_frames_sent_total",
		Help: "WebSocket data frames written.",
	})
	m.Connections = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "parley_connections",
		Help: "Open real-time connections by transport: websocket connections, and long-poll requests being held.",
	}, []string{"transport"})
	m.CommitBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_commit_batch_size",
		Help:    "Messages per group-commit transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	m.CommitDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_commit_duration_seconds",
		Help:    "Time of one group-commit transaction, from begin to durable commit.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.CommitErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_commit_errors_total",
		Help: "Group-commit transactions that failed (their senders got a retryable error).",
	})
	m.AckLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parley_ack_latency_seconds",
		Help:    "Time from receiving a message to its durable acknowledgement, by channel.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"channel"})
	m.Resumes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_resumes_total",
		Help: "Subscriptions resumed, by outcome: recovered (all missed messages replayed), more (client must page), reset (epoch changed).",
	}, []string{"outcome"})
	m.SubscribeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_subscribe_duration_seconds",
		Help:    "Time to handle one subscribe frame: every cursor's reads and its missed messages queued for the client.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	})
	m.SlowConsumers = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_slow_consumer_disconnects_total",
		Help: "Connections closed because the client did not read its frames fast enough (it resumes without loss).",
	})
	m.QueueLength = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "parley_queue_length",
		Help: "Conversations waiting in a team's queue, as of the router's last sweep.",
	}, []string{"team"})
	m.QueueWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_queue_wait_seconds",
		Help:    "Time from entering the queue to being assigned to an agent.",
		Buckets: []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600},
	})
	m.Offers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_offers_total",
		Help: "Offers of conversations to agents that ended, by outcome: accepted, declined, expired, withdrawn.",
	}, []string{"outcome"})
	m.AssignLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parley_assignment_latency_seconds",
		Help:    "Time the router takes to choose an agent and claim the slot (one atomic database transaction).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	r.MustRegister(m.QueueLength, m.QueueWait, m.Offers, m.AssignLatency)
	r.MustRegister(m.HTTPRequests, m.HTTPDuration, m.Panics, m.Logins, m.MessagesReceived, m.MessagesDelivered,
		m.FramesSent, m.Connections, m.CommitBatch, m.CommitDuration, m.CommitErrors, m.AckLatency, m.Resumes, m.SubscribeDuration, m.SlowConsumers)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
