package agent

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/agent/metrics"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// fileLoader is a ConfigLoader as the agent command's: start (the test
// agent's own settings, in place of defaults and flags) with the file
// at path merged over it, validated.
func fileLoader(start *Config, path string) ConfigLoader {
	return func() (*Config, error) {
		fc, err := LoadConfigFile(path)
		if err != nil {
			return nil, err
		}
		c := DefaultConfig()
		c.Merge(start)
		c.Merge(fc)
		c.serverHook = start.serverHook
		if err := c.Validate(); err != nil {
			return nil, err
		}
		return c, nil
	}
}

// tcpTarget is a listener for tcp checks: it accepts and closes.
func tcpTarget(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// fetchJSON is getJSON for polling: a failure is an error.
func fetchJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// TestReload: /-/reload applies a changed log level, meta, rate limit,
// local metrics instance and host metrics check to the running agent,
// keeps its node (same ID and CreateIndex), names what needs a restart,
// and refuses files that do not parse or validate without changing
// anything.
func TestReload(t *testing.T) {
	port := tcpTarget(t)
	a := TestAgent(t, func(c *Config) {
		c.Client.HostMetrics.Interval = ptr("1s")
		c.Client.Meta = map[string]string{"rack": "r1"}
	})
	WaitForAgentLeader(t, a)
	path := filepath.Join(t.TempDir(), "agent.hcl")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a.SetConfigLoader(fileLoader(a.config, path))
	nodeID := a.client.NodeID()
	var before structs.Node
	testutil.WaitForResult(t, 10*time.Second, func() error { return fetchJSON(a.URL()+"/v1/node/"+nodeID, &before) })

	// Nothing changed: nothing applied, nothing to restart.
	write("")
	if code, h, body := call(t, http.MethodPost, a.URL()+"/-/reload"); code != http.StatusOK || len(body) != 0 ||
		h.Get(headerRestartNeeded) != "" {
		t.Fatalf("reload of the same config: %d %q %v", code, body, h)
	}

	write(fmt.Sprintf(`
log_level = "DEBUG"
rate_limit "config" {
  requests_per_second = 1000
}
telemetry {
  collection_interval = "3s"
}
client {
  meta = {
    rack = "r2"
  }
  host_metrics {
    check "tcp" {
      name = "added"
      host = "127.0.0.1"
      port = %d
    }
  }
  metrics {
    instance "extra" {
      config = "scrape_configs: []\n"
    }
  }
  logs {
    instance "l" {
      config = "clients: [{url: 'http://127.0.0.1:1/loki/api/v1/push'}]\nscrape_configs: [{job_name: j, static_configs: [{labels: {__path__: '%s/*.log'}}]}]\n"
    }
  }
}
integrations {
  agent {
    metrics_instance = "extra"
  }
}
`, port, t.TempDir()))
	code, h, body := call(t, http.MethodPost, a.URL()+"/-/reload")
	if code != http.StatusOK || len(body) != 0 {
		t.Fatalf("reload: %d %q", code, body)
	}
	if got := h.Get(headerRestartNeeded); got != "telemetry.collection_interval" {
		t.Fatalf("restart required %q", got)
	}
	if a.logger.GetLevel() != hclog.Debug {
		t.Fatalf("log level %v", a.logger.GetLevel())
	}
	if (*a.http.limiters.Load())[familyConfig] == nil {
		t.Fatal("rate_limit \"config\" not applied")
	}
	if !slices.Contains(a.metrics.Instances(), "extra") {
		t.Fatalf("instances %v", a.metrics.Instances())
	}
	if got := a.logsInstances(); !slices.Equal(got, []string{"l"}) {
		t.Fatalf("logs instances %v", got)
	}
	// The agent integration is served, reported to the servers and
	// autoscraped into "extra".
	if code, _, body := call(t, http.MethodGet, a.URL()+"/integrations/agent/metrics"); code != http.StatusOK || !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("integration after reload: %d %.200s", code, body)
	}
	testutil.WaitForResult(t, 10*time.Second, func() error {
		var n structs.Node
		if err := fetchJSON(a.URL()+"/v1/node/"+nodeID, &n); err != nil {
			return err
		}
		if n.Attributes["integration.agent.autoscrape"] != "1" {
			return fmt.Errorf("attributes %v", n.Attributes)
		}
		return nil
	})
	testutil.WaitForResult(t, 20*time.Second, func() error {
		if !slices.ContainsFunc(a.metricsTargets(), func(t metrics.Target) bool { return t.Labels["job"] == "integrations/agent" }) {
			return fmt.Errorf("no autoscrape target in %+v", a.metricsTargets())
		}
		return nil
	})
	var after structs.Node
	if err := fetchJSON(a.URL()+"/v1/node/"+nodeID, &after); err != nil {
		t.Fatal(err)
	}
	if after.Meta["rack"] != "r2" || after.CreateIndex != before.CreateIndex || after.SecretID != "" {
		t.Fatalf("node after reload: meta %v, create index %d (was %d)", after.Meta, after.CreateIndex, before.CreateIndex)
	}
	var self struct{ Config map[string]any }
	if err := fetchJSON(a.URL()+"/v1/agent/self", &self); err != nil {
		t.Fatal(err)
	}
	if self.Config["LogLevel"] != "DEBUG" {
		t.Fatalf("self LogLevel %v", self.Config["LogLevel"])
	}
	// The new check's result reaches the servers in the next payloads.
	testutil.WaitForResult(t, 20*time.Second, func() error {
		var latest struct{ Payload structs.HostMetrics }
		if err := fetchJSON(a.URL()+"/v1/node/"+nodeID+"/metrics", &latest); err != nil {
			return err
		}
		p := latest.Payload
		for _, r := range p.TCPCheckResults {
			if r.Name != nil && *r.Name == "added" && r.Success {
				return nil
			}
		}
		return fmt.Errorf("no passing check \"added\" in %+v", p.TCPCheckResults)
	})

	running := a.runningConfig()
	for _, bad := range []struct{ text, want string }{
		{"client {", "agent.hcl"},
		{`log_level = "LOUD"`, "log_level"},
		{"client {\n metrics {\n instance \"x\" {\n config_file = \"/does/not/exist.yaml\"\n }\n }\n }\n", "exist.yaml"},
	} {
		write(bad.text)
		code, _, body := call(t, http.MethodGet, a.URL()+"/-/reload")
		if code != http.StatusBadRequest || !strings.Contains(string(body), bad.want) {
			t.Fatalf("reload of %q: %d %q, want 400 naming %s", bad.text, code, body, bad.want)
		}
		if a.runningConfig() != running || a.logger.GetLevel() != hclog.Debug || !slices.Contains(a.metrics.Instances(), "extra") {
			t.Fatalf("a refused reload of %q changed the running agent", bad.text)
		}
	}
	if code, _, _ := call(t, http.MethodPut, a.URL()+"/-/reload"); code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT /-/reload: %d", code)
	}

	// Back to the start: the extra instance drains, the level is WARN.
	write("")
	if code, _, body := call(t, http.MethodPost, a.URL()+"/-/reload"); code != http.StatusOK {
		t.Fatalf("reload: %d %q", code, body)
	}
	if slices.Contains(a.metrics.Instances(), "extra") || a.logger.GetLevel() != hclog.Warn || len(a.logsInstances()) != 0 {
		t.Fatalf("after reverting: instances %v, logs %v, level %v", a.metrics.Instances(), a.logsInstances(), a.logger.GetLevel())
	}
	if code, _, _ := call(t, http.MethodGet, a.URL()+"/integrations/agent/metrics"); code != http.StatusNotFound {
		t.Fatalf("integration after reverting: %d", code)
	}
	var reverted structs.Node
	if err := fetchJSON(a.URL()+"/v1/node/"+nodeID, &reverted); err != nil || reverted.Attributes["integration.agent.instance"] != "" {
		t.Fatalf("attributes after reverting: %v %v", reverted.Attributes, err)
	}
}

// TestReload_NoFiles: an agent built in memory has nothing to read again.
func TestReload_NoFiles(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	code, _, body := call(t, http.MethodPost, a.URL()+"/-/reload")
	if code != http.StatusBadRequest || !strings.Contains(string(body), "not started from configuration files") {
		t.Fatalf("%d %q", code, body)
	}
}

// TestConfigDiff names each changed setting by its HCL path.
func TestConfigDiff(t *testing.T) {
	a := DefaultConfig()
	b := DefaultConfig()
	if d := configDiff(a, b); len(d) != 0 {
		t.Fatalf("same configs differ: %v", d)
	}
	b.Ports.HTTP = ptr(5000)
	b.Server.HostMetrics.Retention = ptr("30d")
	b.Client.Meta = map[string]string{"a": "b"}
	b.RateLimits = []*RateLimitConfig{{Family: "nomad", RequestsPerSecond: ptr(1.0)}}
	b.DevMode = true // not a setting of the files
	want := []string{"ports.http", "server.host_metrics.retention", "client.meta", "rate_limit"}
	if d := configDiff(a, b); !slices.Equal(sorted(d), sorted(want)) {
		t.Fatalf("diff %v, want %v", d, want)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// TestReload_TLSCertificate: a certificate rewritten under the same paths
// is served from the next handshake after a reload; a key that does not
// match is refused and the old certificate stays.
func TestReload_TLSCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key, _, fkey := writeTestCerts(t, dir)
	a := TestAgent(t, func(c *Config) {
		c.TLS.EnableHTTP, c.TLS.EnableRPC = ptr(true), ptr(true)
		c.TLS.CAFile, c.TLS.CertFile, c.TLS.KeyFile = ptr(ca), ptr(cert), ptr(key)
	})
	path := filepath.Join(t.TempDir(), "agent.hcl")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a.SetConfigLoader(fileLoader(a.config, path))
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	base := "https://" + a.HTTPAddr()
	// served is the serial of the certificate a new connection sees.
	served := func() string {
		t.Helper()
		resp, err := hc.Get(base + "/v1/agent/health")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.String()
	}
	reload := func() (int, string) {
		t.Helper()
		resp, err := hc.Post(base+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	first := served()

	// The rotation: a new certificate of the same CA over the old files.
	rotated, rotatedKey := newServerCert(t, dir)
	if err := os.WriteFile(cert, rotated, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, rotatedKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := reload(); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	second := served()
	if second == first {
		t.Fatal("the old certificate is still served after the reload")
	}

	// A key of another certificate: refused, the rotated one stays.
	fk, err := os.ReadFile(fkey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, fk, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := reload(); code != http.StatusBadRequest || !strings.Contains(body, "key") {
		t.Fatalf("reload with a mismatched key: %d %s", code, body)
	}
	if served() != second {
		t.Fatal("a refused reload changed the certificate")
	}
}

// TestReload_Limits: a reload changes http_max_conns_per_client and the
// timeouts for the connections that come next; connections already open
// stay.
func TestReload_Limits(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	path := filepath.Join(t.TempDir(), "agent.hcl")
	a.SetConfigLoader(fileLoader(a.config, path))
	reload := func(text string) http.Header {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		code, h, body := call(t, http.MethodPost, a.URL()+"/-/reload")
		if code != http.StatusOK {
			t.Fatalf("reload: %d %q", code, body)
		}
		return h
	}
	addr := strings.TrimPrefix(a.URL(), "http://")
	// dial opens a connection and says whether the server refused it
	// (Nomad's 429, then close) within a second.
	dial := func() (net.Conn, bool) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 64)
		n, _ := conn.Read(buf)
		return conn, strings.HasPrefix(string(buf[:n]), "HTTP/1.1 429")
	}
	// The test's own keep-alive connections count too: the cap is set
	// above what is open.
	h := reload("limits {\n  http_max_conns_per_client = 1000\n  rpc_max_conns_per_client = 30\n  https_handshake_timeout = \"0s\"\n}\n")
	if got := h.Get(headerRestartNeeded); got != "" {
		t.Fatalf("restart required %q", got)
	}
	capN := a.http.connLimit.Open("127.0.0.1") + 2
	reload(fmt.Sprintf("limits {\n  http_max_conns_per_client = %d\n  https_handshake_timeout = \"0s\"\n}\n", capN))
	open := a.http.connLimit.Open("127.0.0.1") // the reload's own may have added one
	taken := 0
	for ; taken <= capN; taken++ {
		if _, refused := dial(); refused {
			break
		}
	}
	if taken != capN-open || taken == 0 {
		t.Fatalf("%d connections taken with %d open under a cap of %d", taken, open, capN)
	}
	reload("limits {\n  http_max_conns_per_client = 0\n}\n")
	if _, refused := dial(); refused {
		t.Fatal("refused with the cap off")
	}
	if d := time.Duration(a.http.handshakeTimeout.Load()); d != 5*time.Second {
		t.Fatalf("handshake timeout %v after reverting, want the default 5s", d)
	}
}
