package agent

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/common/expfmt"
	yaml "go.yaml.in/yaml/v2"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/monitor"
	"github.com/nomadlike/nomadlike/nomadlike/profile"
	"github.com/nomadlike/nomadlike/structs"
)

// supportMaxDuration is the longest support bundle window: Grafana Agent
// bounds it by its HTTP server's write timeout, 30 s when none is set,
// and this agent sets none.
const supportMaxDuration = 30 * time.Second

// supportLogBytes bounds agent-logs.txt: a debug-level agent under load
// logs fast, and the bundle travels whole through an RPC.
const supportLogBytes = 8 << 20

// SupportRequest is Grafana Agent's GET /-/support?duration=N: a zip of
// what support needs to look at this agent (or, beyond Grafana Agent,
// the server named by server_id or the client node node_id), taken over
// N seconds (default and limit 30). agent:write, as the profiles in it
// are; with ACLs off the answering agent needs enable_debug, as for
// /v1/agent/pprof. disable_support_bundle answers 403.
func (s *HTTPServer) SupportRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	q := req.URL.Query()
	d := supportMaxDuration
	if v := q.Get("duration"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || time.Duration(n)*time.Second > supportMaxDuration {
			http.Error(resp, fmt.Sprintf("duration must be an integer number of seconds from 1 to %d, got %q",
				int(supportMaxDuration.Seconds()), v), http.StatusBadRequest)
			return nil, nil
		}
		d = time.Duration(n) * time.Second
	}
	args := structs.SupportBundleRequest{Seconds: int(d / time.Second), ServerID: q.Get("server_id"), NodeID: q.Get("node_id")}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	if args.ServerID != "" && args.NodeID != "" {
		return nil, structs.ErrDebugTwoTargets
	}
	a := s.agent
	var out structs.SupportBundleResponse
	if a.answersItself(args.ServerID, args.NodeID) {
		if err := a.allowDebug(args.AuthToken, acl.AllowPprof); err != nil {
			return nil, err
		}
		b, err := a.supportBundler()(req.Context(), d)
		if err != nil {
			return nil, err
		}
		out.Payload = b
	} else if err := a.RPC("Agent.Support", &args, &out); err != nil {
		return nil, err
	}
	resp.Header().Set("Content-Type", "application/zip")
	resp.Header().Set("Content-Disposition", `attachment; filename="agent-support-bundle.zip"`)
	resp.WriteHeader(http.StatusOK)
	resp.Write(out.Payload)
	return nil, nil
}

// supportBundler is what builds this agent's bundle for its HTTP API and
// the RPCs that reach it; one that refuses when disable_support_bundle.
func (a *Agent) supportBundler() structs.SupportBundler {
	return func(ctx context.Context, d time.Duration) ([]byte, error) {
		if *a.runningConfig().DisableSupportBundle {
			return nil, structs.ErrSupportDisabled
		}
		return a.supportBundle(ctx, d)
	}
}

// supportBundle is Grafana Agent's bundle: metadata, the configuration
// (scrubbed, only with the read API on), the agent's own metrics, its
// metrics and logs instances and targets as their API answers them, the
// logs written during d, and CPU (over d), heap, goroutine, mutex and
// block profiles. Everything is plain text or pprof, so that an operator
// can read it before sharing it.
func (a *Agent) supportBundle(ctx context.Context, d time.Duration) ([]byte, error) {
	cfg := a.runningConfig()
	// The window: the logs are read while the CPU profile runs.
	logs := monitor.New(a.logger, a.logger.GetLevel(), false)
	stop, done := make(chan struct{}), make(chan struct{})
	var logBuf bytes.Buffer
	go func() {
		defer close(done)
		truncated := false
		keep := func(line []byte) {
			switch {
			case truncated:
			case logBuf.Len()+len(line) <= supportLogBytes:
				logBuf.Write(line)
			default:
				logBuf.WriteString("[support bundle: log capture truncated]\n")
				truncated = true
			}
		}
		for {
			select {
			case line := <-logs.Logs():
				keep(line)
			case <-stop:
				for { // what is still buffered, then done
					select {
					case line := <-logs.Logs():
						keep(line)
					default:
						return
					}
				}
			}
		}
	}()
	cpu, _, cpuErr := profile.CPUProfile(ctx, int(d/time.Second))
	logs.Stop()
	close(stop)
	<-done

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) error {
		w, err := zw.Create(name)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	meta, err := yaml.Marshal(map[string]any{
		"build_version": structs.VersionString(),
		"os":            runtime.GOOS,
		"architecture":  runtime.GOARCH,
		"uptime":        time.Since(a.started).Seconds(),
		"payload":       map[string]any{"enabled-features": a.enabledFeatures()},
	})
	if err != nil {
		return nil, err
	}
	var config []byte
	if *cfg.EnableConfigReadAPI {
		if config, err = cfg.scrubbedYAML(); err != nil {
			return nil, err
		}
	}
	var metrics bytes.Buffer
	if mfs, err := a.MetricsGatherer().Gather(); err == nil || len(mfs) > 0 {
		enc := expfmt.NewEncoder(&metrics, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				return nil, err
			}
		}
	}
	entries := []struct {
		name string
		body any
	}{
		{"agent-metadata.yaml", meta},
		{"agent-config.yaml", config},
		{"agent-metrics.txt", metrics.Bytes()},
		{"agent-metrics-instances.json", successEnvelope(a.metricsInstances())},
		{"agent-metrics-targets.json", successEnvelope(a.metricsTargets())},
		{"agent-logs-instances.json", successEnvelope(a.logsInstances())},
		{"agent-logs-targets.json", successEnvelope(a.logsTargets())},
		{"agent-logs.txt", logBuf.Bytes()},
	}
	for _, e := range entries {
		b, ok := e.body.([]byte)
		if !ok {
			if b, err = json.Marshal(e.body); err != nil {
				return nil, err
			}
		}
		if err := add(e.name, b); err != nil {
			return nil, err
		}
	}
	if cpuErr != nil {
		// Another CPU profile of this process is running (another
		// bundle or a pprof request): say so instead of failing.
		if err := add("pprof/cpu.pprof.error.txt", []byte(cpuErr.Error()+"\n")); err != nil {
			return nil, err
		}
	} else if err := add("pprof/cpu.pprof", cpu); err != nil {
		return nil, err
	}
	for _, name := range []string{"heap", "goroutine", "mutex", "block"} {
		p, _, err := profile.Lookup(name, 0, 0)
		if err != nil {
			return nil, err
		}
		if err := add("pprof/"+name+".pprof", p); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func successEnvelope(data any) *envelope { return &envelope{Status: "success", Data: data} }

// enabledFeatures names what this agent runs with beyond the defaults,
// for agent-metadata.yaml's payload.
func (a *Agent) enabledFeatures() []string {
	c := a.runningConfig()
	var out []string
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"server", *c.Server.Enabled}, {"client", *c.Client.Enabled}, {"acl", *c.ACL.Enabled},
		{"tls-http", *c.TLS.EnableHTTP}, {"tls-rpc", *c.TLS.EnableRPC}, {"gossip-encryption", *c.Server.Encrypt != ""},
		{"enable-debug", *c.EnableDebug}, {"config.enable-read-api", *c.EnableConfigReadAPI},
		{"host-metrics", c.Client.HostMetrics != nil && *c.Client.HostMetrics.Enabled},
		{"dev", c.DevMode},
	} {
		if f.on {
			out = append(out, f.name)
		}
	}
	return out
}
