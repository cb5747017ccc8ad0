package agent

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nomadlike/nomadlike/structs"
)

// MetricsRequest is GET /v1/metrics: the in-memory sink's last finished
// interval as go-metrics' JSON summary (Nomad's answer, field for field),
// or with ?format=prometheus everything MetricsGatherer holds in the
// Prometheus text format, negotiated by promhttp as Prometheus expects.
func (s *HTTPServer) MetricsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	switch format := req.URL.Query().Get("format"); format {
	case "", "json":
		return s.agent.telemetry.inm.DisplayMetrics(resp, req)
	case "prometheus":
		if !*s.agent.config.Telemetry.PrometheusMetrics {
			// Nomad's answer when the Prometheus sink is off.
			return nil, structs.NewErrCoded(http.StatusUnsupportedMediaType,
				"Prometheus is not enabled (telemetry { prometheus_metrics = true })")
		}
		promhttp.HandlerFor(s.agent.MetricsGatherer(), promhttp.HandlerOpts{
			ErrorLog: s.logger.StandardLogger(nil),
			// A gatherer that fails (or two that disagree on a
			// family) must not blank the whole scrape.
			ErrorHandling: promhttp.ContinueOnError,
		}).ServeHTTP(resp, req)
		return nil, nil
	default:
		return nil, structs.NewErrCoded(http.StatusBadRequest,
			"Invalid format %q: want \"prometheus\" or none (JSON)", format)
	}
}
