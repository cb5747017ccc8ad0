package testcluster

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/nomadlike/nomadlike/agent/testcluster/peers"
	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// checkTargets are the services the clients' health checks probe: a plain
// HTTP server answering 200 on /health, a TCP listener, and a TLS server
// whose certificate is in CAFile.
type checkTargets struct {
	HTTP   *httptest.Server
	TCP    net.Listener
	TLS    *httptest.Server
	CAFile string
}

// startCheckTargets starts the targets; they are closed at test cleanup.
func startCheckTargets(t *testing.T) *checkTargets {
	t.Helper()
	ct := &checkTargets{}
	ct.HTTP = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(ct.HTTP.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ct.TCP = ln
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed at cleanup
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	ct.TLS = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(ct.TLS.Close)
	ct.CAFile = WriteConfig(t, t.TempDir(), "ca.pem",
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ct.TLS.Certificate().Raw})))
	return ct
}

// hostPort splits a listener address into host and port.
func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, port
}

// clientHCL is the clients' host_metrics block: a payload a second, one
// check of each kind against ct, and a Docker socket that does not exist.
// CI has no Docker daemon; naming a missing socket makes that the case on
// a developer's machine too, so services and containers are always empty.
func (ct *checkTargets) clientHCL(t *testing.T, dir string) string {
	tcpHost, tcpPort := hostPort(t, ct.TCP.Addr().String())
	tlsHost, tlsPort := hostPort(t, ct.TLS.Listener.Addr().String())
	return fmt.Sprintf(`
client {
  host_metrics {
    interval      = "1s"
    docker_socket = %q
    check "http" {
      name      = "web-health"
      container = "web"
      url       = "%s/health"
      interval  = "1s"
    }
    check "tcp" {
      name      = "db-port"
      container = "db"
      host      = %q
      port      = %d
      interval  = "1s"
    }
    check "tls" {
      name      = "web-cert"
      container = "web"
      host      = %q
      port      = %d
      ca_file   = %q
      interval  = "1s"
    }
  }
}
`, filepath.Join(dir, "no-docker.sock"), ct.HTTP.URL, tcpHost, tcpPort, tlsHost, tlsPort, ct.CAFile)
}

// staleQuery reads from any server, so that a read does not wait for a
// leader after a server is killed.
var staleQuery = &api.QueryOptions{AllowStale: true}

// payloadRootNumbers are spec 004's top-level numbers.
var payloadRootNumbers = []string{"cpuPercent", "memoryUsedMb", "memoryTotalMb", "swapUsedMb", "swapTotalMb",
	"diskUsedGb", "diskTotalGb", "loadAvg1", "loadAvg5", "loadAvg15", "uptime", "openFds", "maxFds",
	"tcpEstablished", "tcpListen", "tcpTimeWait", "tcpCloseWait", "tcpTotal"}

// checkFleetPayload checks that a client's payload has every field of
// spec 004's payload that a host without Docker can fill, with the
// values the check targets give. It returns the first thing missing.
func checkFleetPayload(nm *api.NodeMetrics, ct *checkTargets) error {
	var raw map[string]any
	if err := json.Unmarshal(nm.Raw, &raw); err != nil {
		return fmt.Errorf("payload is not a JSON object: %v", err)
	}
	for _, k := range payloadRootNumbers {
		if _, ok := raw[k].(float64); !ok {
			return fmt.Errorf("%s: %v, want a number", k, raw[k])
		}
	}
	if v, ok := raw["serverHealthy"].(bool); !ok || !v {
		return fmt.Errorf("serverHealthy: %v, want true", raw["serverHealthy"])
	}
	if v, ok := raw["agentVersion"].(string); !ok || v == "" {
		return fmt.Errorf("agentVersion: %v, want a version", raw["agentVersion"])
	}
	// No Docker socket (see clientHCL): the collector leaves services
	// and containers out; a list, empty, would do too.
	for _, k := range []string{"services", "containers"} {
		if v, ok := raw[k]; ok {
			if l, isList := v.([]any); !isList || len(l) != 0 {
				return fmt.Errorf("%s: %v, want absent or [] without Docker", k, v)
			}
		}
	}
	p := nm.Payload
	if p == nil {
		return errors.New("api decoded no payload")
	}

	if len(p.ServiceHealthChecks) != 1 {
		return fmt.Errorf("serviceHealthChecks: %d results, want 1", len(p.ServiceHealthChecks))
	}
	hc := p.ServiceHealthChecks[0]
	switch {
	case hc.ContainerName != "web" || hc.HealthCheckURL != ct.HTTP.URL+"/health":
		return fmt.Errorf("serviceHealthChecks[0]: container %q url %q", hc.ContainerName, hc.HealthCheckURL)
	case !hc.Success || hc.StatusCode == nil || *hc.StatusCode != 200 || hc.Error != nil:
		return fmt.Errorf("serviceHealthChecks[0]: success %v status %v error %v", hc.Success, val(hc.StatusCode), val(hc.Error))
	case hc.DurationMs == nil || *hc.DurationMs < 0:
		return fmt.Errorf("serviceHealthChecks[0].durationMs: %v", val(hc.DurationMs))
	case hc.CheckedAt == nil:
		return errors.New("serviceHealthChecks[0].checkedAt missing")
	}
	if at, err := time.Parse(time.RFC3339, *hc.CheckedAt); err != nil || time.Since(at) > time.Minute {
		return fmt.Errorf("serviceHealthChecks[0].checkedAt %q: not a recent RFC 3339 time (%v)", *hc.CheckedAt, err)
	}

	tcpHost, tcpPort := hostPortOf(ct.TCP.Addr().String())
	if len(p.TCPCheckResults) != 1 {
		return fmt.Errorf("tcpCheckResults: %d results, want 1", len(p.TCPCheckResults))
	}
	tc := p.TCPCheckResults[0]
	if tc.ContainerName != "db" || tc.Host != tcpHost || int(tc.Port) != tcpPort || val(tc.Name) != "db-port" ||
		!tc.Success || tc.DurationMs < 0 || tc.Error != nil {
		return fmt.Errorf("tcpCheckResults[0]: %+v (name %q, error %q)", tc, val(tc.Name), val(tc.Error))
	}

	tlsHost, tlsPort := hostPortOf(ct.TLS.Listener.Addr().String())
	if len(p.CertCheckResults) != 1 {
		return fmt.Errorf("certCheckResults: %d results, want 1", len(p.CertCheckResults))
	}
	cc := p.CertCheckResults[0]
	cert := ct.TLS.Certificate()
	if cc.ContainerName != "web" || cc.Host != tlsHost || int(cc.Port) != tlsPort || val(cc.Name) != "web-cert" ||
		!cc.Success || cc.DurationMs < 0 || cc.Error != nil {
		return fmt.Errorf("certCheckResults[0]: %+v (name %q, error %q)", cc, val(cc.Name), val(cc.Error))
	}
	if cc.DaysUntilExpiry == nil || *cc.DaysUntilExpiry <= 0 {
		return fmt.Errorf("certCheckResults[0].daysUntilExpiry: %v, want > 0", val(cc.DaysUntilExpiry))
	}
	if cc.ExpiresAt == nil {
		return errors.New("certCheckResults[0].expiresAt missing")
	}
	if at, err := time.Parse(time.RFC3339, *cc.ExpiresAt); err != nil || !at.Equal(cert.NotAfter) {
		return fmt.Errorf("certCheckResults[0].expiresAt %q, want %s (%v)", *cc.ExpiresAt, cert.NotAfter.Format(time.RFC3339), err)
	}
	// httptest's certificate is issued by and to "Acme Co".
	if cc.Issuer == nil || !strings.Contains(*cc.Issuer, "Acme Co") || cc.Subject == nil || !strings.Contains(*cc.Subject, "Acme Co") {
		return fmt.Errorf("certCheckResults[0]: issuer %q subject %q, want Acme Co's", val(cc.Issuer), val(cc.Subject))
	}

	tp := p.TopProcesses
	if tp == nil || len(tp.ByCPU) == 0 || len(tp.ByMemory) == 0 {
		return fmt.Errorf("topProcesses: %+v, want both lists", tp)
	}
	for _, l := range [][]api.ProcessInfo{tp.ByCPU, tp.ByMemory} {
		for _, pi := range l {
			if pi.PID <= 0 || pi.Name == "" || pi.State == "" || pi.Threads < 1 || pi.MemoryMb < 0 || pi.CPUPercent < 0 {
				return fmt.Errorf("topProcesses entry %+v", pi)
			}
		}
	}
	if st := tp.Stats; st.Total < 1 || st.Running+st.Sleeping+st.Stopped+st.Zombie > st.Total {
		return fmt.Errorf("topProcesses.stats %+v", st)
	}
	// The raw payload carries every field of a process and of the stats,
	// which the typed decode above cannot tell from a zero.
	rawTop, _ := raw["topProcesses"].(map[string]any)
	for _, list := range []string{"byCpu", "byMemory"} {
		first, _ := rawTop[list].([]any)[0].(map[string]any)
		for _, k := range []string{"pid", "name", "state", "cpuPercent", "memoryMb", "threads"} {
			if _, ok := first[k]; !ok {
				return fmt.Errorf("topProcesses.%s[0].%s missing", list, k)
			}
		}
	}
	stats, _ := rawTop["stats"].(map[string]any)
	for _, k := range []string{"total", "running", "sleeping", "stopped", "zombie"} {
		if _, ok := stats[k].(float64); !ok {
			return fmt.Errorf("topProcesses.stats.%s missing", k)
		}
	}
	return nil
}

// val is *p, or the zero value for nil.
func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func hostPortOf(addr string) (string, int) {
	h, p, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(p)
	return h, port
}

// promAnswer is a Prometheus API answer, decoded loosely.
type promAnswer struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	} `json:"data"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
}

// promQuery runs an instant query on a server's HTTP API with token
// (empty: none) and returns the status and the decoded answer.
func promQuery(ctx context.Context, base, token, expr string) (int, *promAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var a promAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("answer %.200q: %v", body, err)
	}
	return resp.StatusCode, &a, nil
}

// nodesIn are the node label values of a vector answer, sorted.
func (a *promAnswer) nodesIn() []string {
	var out []string
	for _, r := range a.Data.Result {
		out = append(out, r.Metric["node"])
	}
	slices.Sort(out)
	return out
}

// promtoolInstant runs `promtool query instant` against a server, as an
// operator's tooling would, and returns its output.
func promtoolInstant(promtool, base, expr string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "query", "instant", base, expr).CombinedOutput()
	return string(out), err
}

const cpuByNode = `max by (node) (nomadlike_host_cpu_usage_ratio)`

// TestHostMetrics_FleetEndToEnd runs spec 004 through real processes: 3
// servers and 2 clients whose http, tcp and tls checks probe services the
// test runs. Each node's latest payload has every field of the spec; every
// server answers PromQL (asked with Debian's promtool) for both nodes,
// whichever server each pushed to. A server holding a node's data is
// killed: the other two keep answering, with a warning naming it (asked
// and not answering, then marked failed by gossip and not asked), and both
// clients keep pushing to them. Restarted, it is merged in again.
func TestHostMetrics_FleetEndToEnd(t *testing.T) {
	start := time.Now()
	promtool := peers.RequireBinary(t, "promtool", "prometheus")
	ct := startCheckTargets(t)
	dir := t.TempDir()
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	// A client pushes to the first server of its list: client-1 to
	// server-1, client-2 to server-2, so that every server has to merge
	// what its peers hold (server-3 holds nothing of its own).
	hcl := WriteConfig(t, dir, "host-metrics.hcl", ct.clientHCL(t, dir))
	for i := range 2 {
		c.AddClient(fmt.Sprintf("client-%d", i+1), func(s []*Agent) []*Agent {
			return append(slices.Clone(s[i:]), s[:i]...)
		}, "-config", hcl)
	}
	ids := map[string]string{} // node name -> ID
	for _, cl := range c.Clients {
		ids[cl.Name] = cl.NodeID()
		c.WaitForNodeStatus(ids[cl.Name], "ready")
	}
	t.Logf("cluster up in %s", time.Since(start).Round(time.Millisecond))
	wantNodes := []string{"client-1", "client-2"}

	// Every field of the payload, for both nodes, within 30 s.
	latest := map[string]*api.NodeMetrics{}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		for name, id := range ids {
			nm, _, err := c.Servers[1].API().Nodes().Metrics(id, staleQuery)
			if err != nil {
				return fmt.Errorf("%s: %v", name, err)
			}
			if nm.NodeName != name || nm.NodeID != id || len(nm.Warnings) != 0 {
				return fmt.Errorf("%s: answer for %s %s with warnings %v", name, nm.NodeName, nm.NodeID, nm.Warnings)
			}
			if err := checkFleetPayload(nm, ct); err != nil {
				return fmt.Errorf("%s (payload received by %s): %v", name, nm.Server, err)
			}
			latest[name] = nm
		}
		return nil
	})
	t.Logf("both payloads complete after %s", time.Since(start).Round(time.Millisecond))

	// Every server answers for the whole fleet, through promtool.
	testutil.WaitForResult(t, 20*time.Second, func() error {
		for _, s := range c.Servers {
			out, err := promtoolInstant(promtool, s.URL(), cpuByNode)
			if err != nil {
				return fmt.Errorf("promtool on %s: %v: %s", s.Name, err, out)
			}
			for _, n := range wantNodes {
				if !strings.Contains(out, `node="`+n+`"`) {
					return fmt.Errorf("promtool on %s: no %s in %q", s.Name, n, out)
				}
			}
		}
		return nil
	})

	// The CLI's two faces of the same data, on the server that holds none.
	out, err := exec.Command(Binary(t), "metrics", "query", "-address", c.Servers[2].URL(), cpuByNode).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "client-1") || !strings.Contains(string(out), "client-2") {
		t.Fatalf("nomadlike metrics query: %v\n%s", err, out)
	}
	// The text lists failing checks only: every check here succeeds.
	out, err = exec.Command(Binary(t), "node", "metrics", "-address", c.Servers[2].URL(), ids["client-2"][:8]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "client-2") || !strings.Contains(string(out), "Top Processes by CPU") ||
		strings.Contains(string(out), "Failing Checks") {
		t.Fatalf("nomadlike node metrics: %v\n%s", err, out)
	}
	out, err = exec.Command(Binary(t), "node", "metrics", "-json", "-address", c.Servers[2].URL(), ids["client-2"]).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ct.HTTP.URL+"/health") ||
		!strings.Contains(string(out), `"db-port"`) || !strings.Contains(string(out), `"web-cert"`) {
		t.Fatalf("nomadlike node metrics -json: %v\n%s", err, out)
	}

	// Kill a server that holds a node's data, a follower if one does.
	if latest["client-1"].Server != "server-1" || latest["client-2"].Server != "server-2" {
		t.Logf("payloads went to %s and %s, not to the first server of each client's list",
			latest["client-1"].Server, latest["client-2"].Server)
	}
	leader := c.WaitForLeader()
	var victim *Agent
	for _, s := range c.Servers {
		holds := latest["client-1"].Server == s.Name || latest["client-2"].Server == s.Name
		if holds && (victim == nil || victim == leader) {
			victim = s
		}
	}
	if victim == nil {
		t.Fatalf("no server holds the payloads: %s, %s", latest["client-1"].Server, latest["client-2"].Server)
	}
	var survivors []*Agent
	for _, s := range c.Servers {
		if s != victim {
			survivors = append(survivors, s)
		}
	}
	t.Logf("killing %s (leader: %v; holds client-1: %v, client-2: %v)", victim.Name, victim == leader,
		latest["client-1"].Server == victim.Name, latest["client-2"].Server == victim.Name)
	// A moment whose samples only the victim may hold (for one node),
	// fixed once the whole fleet answers for it: the data is seconds old.
	var beforeKill time.Time
	testutil.WaitForResult(t, 10*time.Second, func() error {
		at := time.Now().Add(-time.Second)
		res, err := victim.API().Metrics().Query(`max by (node) (nomadlike_host_uptime_seconds)`, at, nil)
		if err != nil {
			return err
		}
		if v, err := res.Vector(); err != nil || len(v) != 2 {
			return fmt.Errorf("%d nodes a second ago (%v)", len(v), err)
		}
		beforeKill = at
		return nil
	})
	victim.Kill()
	killed := time.Now()

	// Queries on the survivors never fail. They warn while the dead
	// server is still asked, and answer for both nodes once the clients
	// push to a survivor; the latest payloads move on too.
	warned, clean := 0, 0
	ctx := context.Background()
	query := func(s *Agent) (*promAnswer, error) {
		code, a, err := promQuery(ctx, s.URL(), "", cpuByNode)
		if err != nil {
			t.Fatalf("query on %s after the kill: %v", s.Name, err)
		}
		if code != http.StatusOK || a.Status != "success" {
			t.Fatalf("query on %s after the kill: HTTP %d %s %s: %s", s.Name, code, a.Status, a.ErrorType, a.Error)
		}
		if len(a.Warnings) > 0 {
			warned++
			for _, w := range a.Warnings {
				if !strings.Contains(w, victim.Name) {
					t.Fatalf("query on %s: warning %q does not name %s", s.Name, w, victim.Name)
				}
			}
			return a, fmt.Errorf("%s warns %v", s.Name, a.Warnings)
		}
		clean++
		return a, nil
	}
	// The other read paths never fail either: a dead peer is a warning.
	otherReads := func(s *Agent) {
		m := s.API().Metrics()
		now := time.Now()
		if _, err := m.QueryRange(cpuByNode, now.Add(-time.Minute), now, 5*time.Second, nil); err != nil {
			t.Fatalf("query_range on %s after the kill: %v", s.Name, err)
		}
		if _, _, err := m.Series([]string{`nomadlike_host_uptime_seconds`}, now.Add(-time.Hour), now, nil); err != nil {
			t.Fatalf("series on %s after the kill: %v", s.Name, err)
		}
		if _, _, err := m.Labels(nil, now.Add(-time.Hour), now, nil); err != nil {
			t.Fatalf("labels on %s after the kill: %v", s.Name, err)
		}
		if _, _, err := m.LabelValues("node", nil, now.Add(-time.Hour), now, nil); err != nil {
			t.Fatalf("label values on %s after the kill: %v", s.Name, err)
		}
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		for _, s := range survivors {
			a, _ := query(s)
			otherReads(s)
			if got := a.nodesIn(); !slices.Equal(got, wantNodes) {
				return fmt.Errorf("%s answers for %v, want %v", s.Name, got, wantNodes)
			}
			for name, id := range ids {
				nm, _, err := s.API().Nodes().Metrics(id, staleQuery)
				if err != nil {
					return fmt.Errorf("%s: metrics of %s: %v", s.Name, name, err)
				}
				for _, w := range nm.Warnings {
					if !strings.Contains(w, victim.Name) {
						t.Fatalf("%s: metrics of %s: warning %q does not name %s", s.Name, name, w, victim.Name)
					}
				}
				if !nm.ReceivedAt.After(killed) || nm.Server == victim.Name {
					return fmt.Errorf("%s: %s's latest payload is from %s at %s, not a survivor since the kill",
						s.Name, name, nm.Server, nm.ReceivedAt.Format(time.StampMilli))
				}
			}
		}
		return nil
	})
	t.Logf("both nodes pushing to the survivors %s after the kill (%d answers with a warning so far)",
		time.Since(killed).Round(time.Millisecond), warned)

	// Once gossip marks the dead server failed it is no longer asked, but
	// what it held is still missing: answers keep warning. Asked for a
	// moment before the kill, the survivors lack what only the dead server
	// stored.
	testutil.WaitForResult(t, 40*time.Second, func() error {
		m, err := survivors[0].API().Agent().Members()
		if err != nil {
			return err
		}
		for _, mem := range m.Members {
			if strings.HasPrefix(mem.Name, victim.Name+".") && mem.Status == "failed" {
				return nil
			}
		}
		return fmt.Errorf("%s is not failed yet in %s's gossip pool", victim.Name, survivors[0].Name)
	})
	failedAfter := time.Since(killed).Round(time.Millisecond)
	for _, s := range survivors {
		if _, err := query(s); err == nil {
			t.Fatalf("query on %s with %s failed: no warning, yet %s's series are missing", s.Name, victim.Name, victim.Name)
		}
		res, err := s.API().Metrics().Query(`nomadlike_host_uptime_seconds`, beforeKill, nil)
		if err != nil {
			t.Fatalf("query before the kill on %s: %v", s.Name, err)
		}
		if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], victim.Name) {
			t.Fatalf("query before the kill on %s: warnings %v, want %s named", s.Name, res.Warnings, victim.Name)
		}
		for name, id := range ids {
			nm, _, err := s.API().Nodes().Metrics(id, staleQuery)
			if err != nil || len(nm.Warnings) == 0 || !strings.Contains(nm.Warnings[0], victim.Name) {
				t.Fatalf("%s: metrics of %s with %s failed: warnings %v, error %v", s.Name, name, victim.Name, nm.Warnings, err)
			}
		}
		out, err := promtoolInstant(promtool, s.URL(), cpuByNode)
		if err != nil || !strings.Contains(out, `node="client-1"`) || !strings.Contains(out, `node="client-2"`) {
			t.Fatalf("promtool on %s after the kill: %v: %s", s.Name, err, out)
		}
	}

	// The dead server comes back on its data dir: no warnings, and the
	// series only it held are in the survivors' answers again.
	victim.Start()
	testutil.WaitForResult(t, 40*time.Second, func() error {
		for _, s := range survivors {
			if _, err := query(s); err != nil {
				return err
			}
			res, err := s.API().Metrics().Query(`max by (node) (nomadlike_host_uptime_seconds)`, beforeKill, nil)
			if err != nil {
				t.Fatalf("query before the kill on %s: %v", s.Name, err)
			}
			v, err := res.Vector()
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != 2 || len(res.Warnings) != 0 {
				return fmt.Errorf("%s before the kill: %d nodes, warnings %v", s.Name, len(v), res.Warnings)
			}
		}
		return nil
	})
	t.Logf("%s failed in gossip %s after the kill, back %s after it; %d answers warned, %d did not; test took %s",
		victim.Name, failedAfter, time.Since(killed).Round(time.Millisecond), warned, clean, time.Since(start).Round(time.Millisecond))
}

// TestHostMetrics_RemoteWriteToPrometheus has a server remote_write what
// nodes push to a real Prometheus (Debian's): a client agent's payloads
// and a payload an external node pushes over HTTP with a minted agent
// token both become series there.
func TestHostMetrics_RemoteWriteToPrometheus(t *testing.T) {
	prom := peers.StartPrometheus(t, peers.PrometheusOptions{})
	dir := t.TempDir()
	serverHCL := fmt.Sprintf(`
server {
  host_metrics {
    remote_write {
      url = %q
    }
  }
}
`, prom.RemoteWriteURL())
	clientHCL := `
client {
  host_metrics {
    interval      = "1s"
    docker_socket = "` + filepath.Join(dir, "no-docker.sock") + `"
  }
}
`
	c := New(t, Options{Servers: 1, Clients: 1, ServerArgs: serverArgs(t, serverHCL),
		ClientArgs: []string{"-config", WriteConfig(t, dir, "host-metrics.hcl", clientHCL)}})
	srv := c.Servers[0]

	// An external node pushes the spec's example with its agent token.
	tok, _, err := srv.API().Nodes().CreateToken("external-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	example := specExample(t)
	testutil.WaitForResult(t, 10*time.Second, func() error {
		req, err := http.NewRequest(http.MethodPost, srv.URL()+"/api/metrics/ingest", strings.NewReader(example))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.SecretID)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ingest: %s: %s", resp.Status, body)
		}
		return nil
	})

	// Both nodes' series reach Prometheus; remote_write sends a batch at
	// least every 5 s by default.
	testutil.WaitForResult(t, 45*time.Second, func() error {
		for _, q := range []string{
			`nomadlike_host_cpu_usage_ratio{node="client-1"}`,
			`nomadlike_host_uptime_seconds{node="client-1"}`,
			`nomadlike_host_cpu_usage_ratio{node="external-1",node_id="` + tok.NodeID + `"} == 0.01`,
			`nomadlike_check_http_success{node="external-1"}`,
			`nomadlike_cert_days_until_expiry{node="external-1"}`,
		} {
			v, err := prom.Query(q, time.Now())
			if err != nil {
				return fmt.Errorf("%s: %v", q, err)
			}
			if len(v) == 0 {
				return fmt.Errorf("%s: no result in Prometheus yet", q)
			}
		}
		return nil
	})
}

// specExample is spec 004's example payload, with checkedAt moved to now:
// the store takes samples at the time the server receives them, and the
// example's date is only a format example.
func specExample(t *testing.T) string {
	t.Helper()
	// go test runs in the package's directory.
	buf, err := os.ReadFile(filepath.Join("..", "..", "nomadlike", "hostmetrics", "testdata", "spec_example.json"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(buf), "2026-04-15T12:00:00Z", time.Now().UTC().Format(time.RFC3339))
}

// TestHostMetrics_ACLAcrossServers: with ACLs on, a node:read token asks
// one server for PromQL and gets the series a client pushed to the other
// one, read from that peer with the same token; a token without node:read
// and no token at all get 403.
func TestHostMetrics_ACLAcrossServers(t *testing.T) {
	dir := t.TempDir()
	clientHCL := `
client {
  host_metrics {
    interval      = "1s"
    docker_socket = "` + filepath.Join(dir, "no-docker.sock") + `"
  }
}
`
	c := New(t, Options{Servers: 2, Clients: 1, ACL: true, ServerArgs: serverArgs(t, ""),
		ClientArgs:    []string{"-config", WriteConfig(t, dir, "host-metrics.hcl", clientHCL)},
		ClientServers: func(s []*Agent) []*Agent { return s[:1] }})
	a := c.Servers[0].API()
	for name, rules := range map[string]string{
		"metrics-reader": `node { policy = "read" }`,
		"agent-reader":   `agent { policy = "read" }`,
	} {
		if _, err := a.ACLPolicies().Upsert(&api.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatal(err)
		}
	}
	reader, _, err := a.ACLTokens().Create(&api.ACLToken{Name: "reader", Type: "client", Policies: []string{"metrics-reader"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := a.ACLTokens().Create(&api.ACLToken{Name: "other", Type: "client", Policies: []string{"agent-reader"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// server-2 holds nothing: the client only knows server-1.
	testutil.WaitForResult(t, 30*time.Second, func() error {
		code, ans, err := promQuery(ctx, c.Servers[1].URL(), reader.SecretID, `nomadlike_host_uptime_seconds`)
		if err != nil {
			return err
		}
		if code != http.StatusOK || ans.Status != "success" || len(ans.Warnings) != 0 {
			return fmt.Errorf("HTTP %d %s %s %s warnings %v", code, ans.Status, ans.ErrorType, ans.Error, ans.Warnings)
		}
		if got := ans.nodesIn(); !slices.Equal(got, []string{"client-1"}) {
			return fmt.Errorf("server-2 answers for %v, want client-1's series from server-1", got)
		}
		return nil
	})
	// What server-2 asked server-1 for: server-1 checks the token the
	// peer passes on, as it would a caller's own.
	pool := nomadlike.NewConnPool()
	defer pool.Shutdown()
	now := time.Now().UnixMilli()
	rr, err := (&prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: now - time.Hour.Milliseconds(), EndTimestampMs: now,
		Matchers: []*prompb.LabelMatcher{{Type: prompb.LabelMatcher_EQ, Name: "__name__", Value: "nomadlike_host_uptime_seconds"}}}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for who, secret := range map[string]string{"node:read token": reader.SecretID, "agent:read token": other.SecretID, "no token": ""} {
		args := &structs.HostMetricsReadRequest{Op: structs.HostMetricsReadLabelNames, ReadRequest: rr,
			QueryOptions: structs.QueryOptions{AuthToken: secret}}
		var reply structs.HostMetricsReadResponse
		err := pool.RPC(c.Servers[0].RPCAddr(), "HostMetrics.Read", args, &reply)
		if who == "node:read token" {
			if err != nil || !slices.Contains(reply.Labels, "node") {
				t.Fatalf("HostMetrics.Read with the %s: labels %v, error %v", who, reply.Labels, err)
			}
		} else if !errors.Is(err, structs.ErrPermissionDenied) {
			t.Fatalf("HostMetrics.Read with %s: %v, want permission denied", who, err)
		}
	}
	for who, secret := range map[string]string{"agent:read token": other.SecretID, "no token": ""} {
		for _, s := range c.Servers {
			code, ans, err := promQuery(ctx, s.URL(), secret, `nomadlike_host_uptime_seconds`)
			if err != nil {
				t.Fatalf("%s on %s: %v", who, s.Name, err)
			}
			if code != http.StatusForbidden || ans.Status != "error" {
				t.Fatalf("%s on %s: HTTP %d %+v, want 403", who, s.Name, code, ans)
			}
		}
	}
}
