package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent/hostmetrics"
	"github.com/nomadlike/nomadlike/structs"
)

// testCAPEM is a self-signed CA certificate in PEM.
func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestHostMetricsConfig_Load(t *testing.T) {
	dir := t.TempDir()
	ca := writeFile(t, dir, "ca.pem", testCAPEM(t))
	path := writeFile(t, dir, "client.hcl", `
client {
  enabled = true
  servers = ["127.0.0.1:4647"]
  host_metrics {
    interval      = "15s"
    buffer        = 240
    disk_path     = "/var"
    docker_socket = "/run/docker.sock"
    top_processes = 5

    check "http" {
      name          = "api"
      container     = "web"
      url           = "http://127.0.0.1:8080/health"
      interval      = "30s"
      timeout       = "2s"
      expect_status = 204
    }
    check "tcp" {
      name      = "db"
      host      = "127.0.0.1"
      port      = 5432
      container = "db"
    }
    check "tls" {
      name                 = "site"
      host                 = "example.com"
      port                 = 443
      server_name          = "www.example.com"
      ca_file              = "`+ca+`"
      insecure_skip_verify = false
    }
  }
}
`)
	c := overValidServer(t, path)
	if err := c.Validate(); err != nil {
		t.Fatalf("valid host_metrics block refused: %v", err)
	}
	h := c.Client.HostMetrics
	if !*h.Enabled {
		t.Error("enabled: the default true was lost in the merge")
	}
	healthy := func() bool { return true }
	got := h.collectorConfig("0.9.0", healthy)
	if got.ServerHealthy == nil || !got.ServerHealthy() {
		t.Error("serverHealthy not passed through")
	}
	got.ServerHealthy = nil
	want := hostmetrics.Config{Interval: 15 * time.Second, DiskPath: "/var", DockerSocket: "/run/docker.sock",
		TopProcesses: 5, AgentVersion: "0.9.0", Checks: []hostmetrics.Check{
			{Kind: "http", Name: "api", Container: "web", URL: "http://127.0.0.1:8080/health",
				Interval: 30 * time.Second, Timeout: 2 * time.Second, ExpectStatus: 204},
			{Kind: "tcp", Name: "db", Container: "db", Host: "127.0.0.1", Port: 5432},
			{Kind: "tls", Name: "site", Host: "example.com", Port: 443, ServerName: "www.example.com", CAFile: ca},
		}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("collector config\n%+v\nwant\n%+v", got, want)
	}
	// hostmetrics accepts what validated (the CA file loads).
	col, err := hostmetrics.New(got, nil)
	if err != nil {
		t.Fatalf("hostmetrics.New: %v", err)
	}
	col.Stop()

	collect := func(context.Context) *structs.HostMetrics { return nil }
	pc := h.pusherConfig(collect, func(context.Context, []byte) error { return nil }, nil)
	if pc.Interval != 15*time.Second || pc.BufferSize != 240 || pc.Collect == nil || pc.Send == nil {
		t.Errorf("pusher config %+v", pc)
	}
}

func TestHostMetricsConfig_Defaults(t *testing.T) {
	c := validServer()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	h := c.Client.HostMetrics
	if !*h.Enabled || *h.Interval != "10s" || *h.Buffer != 360 || *h.DiskPath != "/" ||
		*h.DockerSocket != "/var/run/docker.sock" || *h.TopProcesses != 10 || len(h.Checks) != 0 {
		t.Errorf("defaults %+v", h)
	}
	cfg := h.collectorConfig("", nil)
	if cfg.Interval != 10*time.Second || cfg.DiskPath != "/" || cfg.TopProcesses != 10 {
		t.Errorf("collector config of the defaults %+v", cfg)
	}
	// A check without interval or timeout leaves them to hostmetrics
	// (the block's interval, 5s).
	file, err := ParseConfig([]byte(`client {
  host_metrics {
    enabled = false
    check "tcp" {
      host = "db"
      port = 5432
    }
  }
}`), "c.hcl")
	if err != nil {
		t.Fatal(err)
	}
	c.Merge(file)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if *c.Client.HostMetrics.Enabled || *c.Client.HostMetrics.Interval != "10s" {
		t.Errorf("merge: %+v", c.Client.HostMetrics)
	}
	ch := c.Client.HostMetrics.collectorConfig("", nil).Checks[0]
	if ch.Interval != 0 || ch.Timeout != 0 || ch.Name != "" || ch.Container != "" {
		t.Errorf("unset check fields %+v", ch)
	}
}

func TestHostMetricsConfig_Errors(t *testing.T) {
	dir := t.TempDir()
	notPEM := writeFile(t, dir, "not.pem", "hello")
	path := writeFile(t, dir, "bad.hcl", `
client {
  host_metrics {
    interval      = "10"
    buffer        = 0
    top_processes = -1
    disk_path     = ""
    check "http" {
      name = "api"
    }
    check "http" {
      name          = "api"
      url           = "ftp://example.com"
      expect_status = 42
      port          = 80
    }
    check "tcp" {
      name     = "db"
      port     = 70000
      interval = "fast"
      timeout  = "-1s"
      ca_file  = "/x.pem"
    }
    check "tls" {
      host    = "example.com"
      ca_file = "`+notPEM+`"
    }
    check "tls" {
      host    = "example.com"
      port    = 443
      ca_file = "`+filepath.Join(dir, "missing.pem")+`"
    }
    check "icmp" {
      name = "ping"
      host = "10.0.0.1"
    }
  }
}
`)
	err := overValidServer(t, path).Validate()
	wantAll(t, err,
		`client.host_metrics.interval: "10"`,
		"client.host_metrics.buffer: 0",
		"client.host_metrics.top_processes: -1",
		"client.host_metrics.disk_path",
		`check "http" "api": url is required`,
		`check "http" "api": defined twice`,
		`url "ftp://example.com"`,
		"expect_status 42",
		`check "http" "api": port is not an attribute of check "http"`,
		`check "tcp" "db": host is required`,
		"port 70000",
		`interval "fast"`,
		`timeout "-1s"`,
		`check "tcp" "db": ca_file is not an attribute of check "tcp"`,
		`check "tls" #4: port is required`,
		"not.pem holds no PEM certificate",
		`check "tls" #5: ca_file: open`,
		`unknown check kind "icmp"`,
	)
	if n := strings.Count(err.Error(), "\n") + 1; n < 18 {
		t.Errorf("%d errors, want every one reported:\n%v", n, err)
	}

	// An unknown attribute is a parse error naming the field.
	bad := writeFile(t, dir, "typo.hcl", "client {\n  host_metrics {\n    check \"tcp\" {\n      hots = \"x\"\n    }\n  }\n}\n")
	_, err = LoadConfigFile(bad)
	wantAll(t, err, bad+":4", "client.host_metrics.check.hots")
	// A check needs its kind label.
	nolabel := writeFile(t, dir, "nolabel.hcl", "client {\n  host_metrics {\n    check {\n      host = \"x\"\n    }\n  }\n}\n")
	_, err = LoadConfigFile(nolabel)
	wantAll(t, err, nolabel+":3")
}

// overValidServer is validServer with the config file at path merged over
// it, not yet validated.
func overValidServer(t *testing.T, path string) *Config {
	t.Helper()
	file, err := LoadConfigFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := validServer()
	c.Merge(file)
	return c
}
