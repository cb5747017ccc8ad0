package promapi

import (
	"log/slog"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"

	"github.com/nomadlike/nomadlike/nomadlike/hclogslog"
)

// Engine defaults, Prometheus' own (--query.timeout, --query.max-samples,
// --query.lookback-delta, the global evaluation_interval).
const (
	DefaultTimeout       = 2 * time.Minute
	DefaultMaxSamples    = 50_000_000
	DefaultLookbackDelta = 5 * time.Minute
	defaultSubqueryStep  = time.Minute
)

// EngineOptions configure NewEngine. Zero values take the defaults above.
type EngineOptions struct {
	// Logger receives the engine's rare messages; nil discards them.
	Logger hclog.Logger
	// Registerer gets the engine's prometheus_engine_* metrics; nil
	// registers none (a second engine in one process would clash).
	Registerer prometheus.Registerer
	Timeout    time.Duration
	MaxSamples int
	// LookbackDelta is how long a series stays visible after its last
	// sample. Host metrics arrive every few seconds to a minute, so
	// Prometheus' 5m suits them.
	LookbackDelta time.Duration
}

// NewEngine returns a PromQL engine with Prometheus' defaults and the
// modifiers Prometheus enables by default (@ and negative offsets). It has
// no active query tracker: that needs a directory whose log survives a
// crash, which buys nothing for queries that are only read.
func NewEngine(opts EngineOptions) *promql.Engine {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = DefaultMaxSamples
	}
	if opts.LookbackDelta <= 0 {
		opts.LookbackDelta = DefaultLookbackDelta
	}
	return promql.NewEngine(promql.EngineOpts{
		Logger:        slogFrom(opts.Logger),
		Reg:           opts.Registerer,
		MaxSamples:    opts.MaxSamples,
		Timeout:       opts.Timeout,
		LookbackDelta: opts.LookbackDelta,
		// Without it a subquery with no step ([5m:]) would call a nil func.
		NoStepSubqueryIntervalFn: func(int64) int64 { return defaultSubqueryStep.Milliseconds() },
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnablePerStepStats:       true,
	})
}

// slogFrom adapts l to the *slog.Logger Prometheus' packages take.
func slogFrom(l hclog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return hclogslog.New(l)
}
