// Package metrics defines every Prometheus metric Parley exports, on a private registry (no global state), and
// serves them at /metrics. docs/metrics.md lists them; a change here changes that document.
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
	r.MustRegister(m.HTTPRequests, m.HTTPDuration, m.Panics, m.Logins)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
