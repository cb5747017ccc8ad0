package agent

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v2"
)

// supportEntries are every entry of Grafana Agent's bundle.
var supportEntries = []string{"agent-config.yaml", "agent-logs-instances.json", "agent-logs-targets.json",
	"agent-logs.txt", "agent-metadata.yaml", "agent-metrics-instances.json", "agent-metrics-targets.json",
	"agent-metrics.txt", "pprof/block.pprof", "pprof/cpu.pprof", "pprof/goroutine.pprof", "pprof/heap.pprof",
	"pprof/mutex.pprof"}

// unzip reads every entry of a zip.
func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestHTTP_Support: /-/support's zip holds every entry of the spec, the
// logs written in its window, the scrubbed configuration, and none of
// the secrets planted in the configuration.
func TestHTTP_Support(t *testing.T) {
	fc, err := ParseConfig([]byte(`
client {
  token = "support-token-secret"
  host_metrics {
    check "http" {
      url = "http://u:check-basic-password@127.0.0.1:9/health"
    }
  }
}
server {
  host_metrics {
    remote_write {
      url = "http://127.0.0.1:9/api/v1/write"
      basic_auth {
        username = "u"
        password = "remote-write-password"
      }
    }
  }
}`), "secrets.hcl")
	if err != nil {
		t.Fatal(err)
	}
	a := TestAgent(t, func(c *Config) {
		c.Merge(fc)
		c.EnableDebug = ptr(true)
		c.EnableConfigReadAPI = ptr(true)
	})
	WaitForAgentLeader(t, a)

	// Log lines in the window, until the answer is there.
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				a.logger.Warn("support window marker")
			}
		}
	}()
	code, h, body := call(t, http.MethodGet, a.URL()+"/-/support?duration=1")
	close(done)
	if code != http.StatusOK || h.Get("Content-Type") != "application/zip" ||
		h.Get("Content-Disposition") != `attachment; filename="agent-support-bundle.zip"` {
		t.Fatalf("%d %v %.300s", code, h, body)
	}
	files := unzip(t, body)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, supportEntries) {
		t.Fatalf("entries %v, want %v", names, supportEntries)
	}
	for n, b := range files {
		for _, secret := range []string{"support-token-secret", "check-basic-password", "remote-write-password"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the secret %q", n, secret)
			}
		}
		if strings.HasPrefix(n, "pprof/") && !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s is not a gzipped pprof profile", n)
		}
	}
	var meta struct {
		BuildVersion string  `yaml:"build_version"`
		OS           string  `yaml:"os"`
		Architecture string  `yaml:"architecture"`
		Uptime       float64 `yaml:"uptime"`
		Payload      struct {
			EnabledFeatures []string `yaml:"enabled-features"`
		} `yaml:"payload"`
	}
	if err := yaml.Unmarshal(files["agent-metadata.yaml"], &meta); err != nil || meta.BuildVersion == "" || meta.OS == "" ||
		meta.Architecture == "" || meta.Uptime <= 0 || !slices.Contains(meta.Payload.EnabledFeatures, "config.enable-read-api") {
		t.Fatalf("metadata %v:\n%s", err, files["agent-metadata.yaml"])
	}
	if !bytes.Contains(files["agent-config.yaml"], []byte("token: <secret>")) ||
		!bytes.Contains(files["agent-logs.txt"], []byte("support window marker")) ||
		!bytes.Contains(files["agent-metrics.txt"], []byte("# TYPE ")) ||
		!bytes.Contains(files["agent-metrics-instances.json"], []byte(`"status":"success"`)) {
		t.Fatalf("config:\n%s\nlogs:\n%s", files["agent-config.yaml"], files["agent-logs.txt"])
	}

	for _, d := range []string{"0", "31", "abc", "-1", "1.5"} {
		code, _, body := call(t, http.MethodGet, a.URL()+"/-/support?duration="+d)
		if code != http.StatusBadRequest || !strings.Contains(string(body), "duration") {
			t.Errorf("duration=%s: %d %s", d, code, body)
		}
	}
}

// TestHTTP_SupportRefused: disable_support_bundle is a 403, and so is an
// agent without enable_debug while ACLs are off (the bundle holds
// profiles, as /v1/agent/pprof does).
func TestHTTP_SupportRefused(t *testing.T) {
	for want, cb := range map[string]func(*Config){
		"support bundle generation is disabled": func(c *Config) { c.EnableDebug = ptr(true); c.DisableSupportBundle = ptr(true) },
		"Permission denied":                     func(c *Config) { c.EnableDebug = ptr(false) },
	} {
		a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false); cb(c) })
		code, _, body := call(t, http.MethodGet, a.URL()+"/-/support?duration=1")
		if code != http.StatusForbidden || !strings.Contains(string(body), want) {
			t.Errorf("want 403 %q: %d %s", want, code, body)
		}
	}
}
