package agent

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	metrics "github.com/hashicorp/go-metrics/compat"
	metricsprom "github.com/hashicorp/go-metrics/compat/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// TelemetryConfig is the telemetry{} block, with Nomad's names.
type TelemetryConfig struct {
	// CollectionInterval is how often the agent samples its own gauges
	// (Go runtime, eval broker, blocking queries), as Nomad's.
	CollectionInterval *string `hcl:"collection_interval,optional"`
	// DisableHostname leaves the hostname out of gauge names. On by
	// default here (Nomad's default is off): see agent/DESIGN.md.
	DisableHostname *bool `hcl:"disable_hostname,optional"`
	// PrometheusMetrics serves /v1/metrics?format=prometheus. On by
	// default here (Nomad's default is off): see agent/DESIGN.md.
	PrometheusMetrics *bool `hcl:"prometheus_metrics,optional"`
}

// Metric names start with this service name (Nomad's are "nomad."), so
// hashicorp/raft's raft.apply is nomadlike.raft.apply here.
const metricsServiceName = "nomadlike"

// The in-memory sink keeps Nomad's shape: 10 s intervals, one minute of
// them. /v1/metrics shows the last finished interval.
const (
	inmemInterval = 10 * time.Second
	inmemRetain   = time.Minute
)

func defaultTelemetry() *TelemetryConfig {
	return &TelemetryConfig{
		CollectionInterval: ptr("1s"),
		DisableHostname:    ptr(true),
		PrometheusMetrics:  ptr(true),
	}
}

// validate reports problems in the telemetry block, each naming its key.
func (t *TelemetryConfig) validate(add func(string, ...any)) {
	d, err := time.ParseDuration(*t.CollectionInterval)
	switch {
	case err != nil:
		add("telemetry.collection_interval: %q is not a duration such as \"1s\"", *t.CollectionInterval)
	case d < 100*time.Millisecond:
		// Sampling the runtime (a stop-the-world ReadMemStats) more
		// often than this costs more than it tells.
		add("telemetry.collection_interval: %q must be at least 100ms", *t.CollectionInterval)
	}
}

// collectionInterval is the parsed collection_interval.
func (t *TelemetryConfig) collectionInterval() time.Duration {
	return mustDuration(t.CollectionInterval)
}

// processTelemetry is the process's one set of metrics sinks.
// hashicorp/raft and memberlist write through go-metrics' global (the
// compat package forwards to armon/go-metrics unless the binary is built
// with -tags hashicorpmetrics; we call the same compat package, so our
// metrics and theirs always reach the same global). A global exists
// once per process, so the first agent's telemetry{} block decides the
// hostname and interval settings; only tests run several agents in one
// process, and they then share one set of sinks.
type processTelemetry struct {
	inm *metrics.InmemSink
	// sinks fans out to inm and, once an agent asks for it, the
	// Prometheus sink.
	sinks *sinkSet
	// registry gathers the Prometheus sink, the Go runtime and the
	// process collectors.
	registry *prometheus.Registry

	promOnce sync.Once
	promErr  error
}

var (
	telemetryOnce sync.Once
	procTelemetry *processTelemetry
)

// setupTelemetry installs the go-metrics global on first use in the
// process and adds the Prometheus sink when c asks for it. It must run
// before raft and memberlist start, or what they emit first is lost.
func setupTelemetry(c *TelemetryConfig, logger hclog.Logger) (*processTelemetry, error) {
	telemetryOnce.Do(func() {
		inm := metrics.NewInmemSink(inmemInterval, inmemRetain)
		pt := &processTelemetry{inm: inm, sinks: &sinkSet{sinks: []metrics.MetricSink{inm}},
			registry: prometheus.NewRegistry()}
		pt.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		conf := metrics.DefaultConfig(metricsServiceName)
		conf.EnableHostname = !*c.DisableHostname
		conf.ProfileInterval = c.collectionInterval()
		if _, err := metrics.NewGlobal(conf, pt.sinks); err != nil {
			logger.Error("metrics setup failed", "error", err)
		}
		procTelemetry = pt
	})
	pt := procTelemetry
	if *c.PrometheusMetrics {
		pt.promOnce.Do(func() {
			// Series not updated for a minute are dropped, as go-metrics
			// does by default: a label value that stopped appearing (a
			// route no longer called) does not stay forever.
			sink, err := metricsprom.NewPrometheusSinkFrom(metricsprom.PrometheusOpts{
				Expiration: metricsprom.DefaultPrometheusOpts.Expiration,
				Registerer: pt.registry,
			})
			if err != nil {
				pt.promErr = fmt.Errorf("telemetry: prometheus sink: %w", err)
				return
			}
			pt.sinks.add(sink)
		})
		if pt.promErr != nil {
			return nil, pt.promErr
		}
	}
	return pt, nil
}

// sinkSet is a fan-out sink that can grow while metrics flow.
type sinkSet struct {
	mu    sync.RWMutex
	sinks []metrics.MetricSink
}

func (s *sinkSet) add(sink metrics.MetricSink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sinks = append(slices.Clone(s.sinks), sink)
}

func (s *sinkSet) each(f func(metrics.MetricSink)) {
	s.mu.RLock()
	sinks := s.sinks
	s.mu.RUnlock()
	for _, sink := range sinks {
		f(sink)
	}
}

func (s *sinkSet) SetGauge(key []string, val float32) {
	s.each(func(m metrics.MetricSink) { m.SetGauge(key, val) })
}

func (s *sinkSet) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	s.each(func(m metrics.MetricSink) { m.SetGaugeWithLabels(key, val, labels) })
}

func (s *sinkSet) EmitKey(key []string, val float32) {
	s.each(func(m metrics.MetricSink) { m.EmitKey(key, val) })
}

func (s *sinkSet) IncrCounter(key []string, val float32) {
	s.each(func(m metrics.MetricSink) { m.IncrCounter(key, val) })
}

func (s *sinkSet) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	s.each(func(m metrics.MetricSink) { m.IncrCounterWithLabels(key, val, labels) })
}

func (s *sinkSet) AddSample(key []string, val float32) {
	s.each(func(m metrics.MetricSink) { m.AddSample(key, val) })
}

func (s *sinkSet) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	s.each(func(m metrics.MetricSink) { m.AddSampleWithLabels(key, val, labels) })
}

// agentGatherers are the Prometheus gatherers an agent serves besides the
// process's own (the client metrics runtime's, for one).
type agentGatherers struct {
	mu        sync.RWMutex
	gatherers []prometheus.Gatherer
}

// AddMetricsGatherer adds g to what this agent's
// /v1/metrics?format=prometheus serves, merged with the agent's own
// series. It is safe for concurrent use and may be called at any time
// after NewAgent; a family that g and another gatherer both answer must
// have the same type and distinct label sets.
func (a *Agent) AddMetricsGatherer(g prometheus.Gatherer) {
	if g == nil {
		return
	}
	a.gatherers.mu.Lock()
	defer a.gatherers.mu.Unlock()
	a.gatherers.gatherers = append(slices.Clone(a.gatherers.gatherers), g)
}

// MetricsGatherer is everything /v1/metrics?format=prometheus serves:
// go-metrics' Prometheus sink (this process's raft, memberlist, HTTP, RPC
// series and the rest), the Go runtime and process collectors, and the
// gatherers added with AddMetricsGatherer.
func (a *Agent) MetricsGatherer() prometheus.Gatherer {
	a.gatherers.mu.RLock()
	defer a.gatherers.mu.RUnlock()
	gs := prometheus.Gatherers{a.telemetry.registry}
	return append(gs, a.gatherers.gatherers...)
}

// httpMethodLabel bounds the method label: any string is a valid method
// to net/http, so unknown ones share one value.
func httpMethodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// telemetrySelf is the telemetry block in /v1/agent/self, with Nomad's
// field names.
func (a *Agent) telemetrySelf() map[string]any {
	t := a.config.Telemetry
	return map[string]any{
		"CollectionInterval": *t.CollectionInterval,
		"DisableHostname":    *t.DisableHostname,
		"PrometheusMetrics":  *t.PrometheusMetrics,
	}
}
