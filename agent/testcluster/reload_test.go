package testcluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// TestReload_Process: a client agent process whose config file changed
// applies it on POST /-/reload (the api and the CLI) and on SIGHUP: log
// level, meta and a local metrics instance change live, its node stays
// the same registered node, a setting that needs a restart is named, and
// a broken file is refused while the old configuration keeps running.
func TestReload_Process(t *testing.T) {
	c := New(t, Options{Servers: 1})
	path := filepath.Join(t.TempDir(), "client.hcl")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("log_level = \"INFO\"\nclient {\n  meta = { rack = \"r1\" }\n  host_metrics { interval = \"1s\" }\n}\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the added check's target
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// Without the harness's -log-level flag, which would win over the
	// file's log_level.
	cl := NewAgent(t, c.Dir, "client-1", false, true, "-servers", c.Servers[0].RPCAddr(), "-config", path)
	cl.LogLevel = ""
	cl.Start()
	id := cl.NodeID()
	before := c.WaitForNodeStatus(id, "ready")
	logLevel := func() any {
		self, err := cl.API().Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		return self.Config["LogLevel"]
	}

	write(strings.ReplaceAll(`log_level = "DEBUG"
telemetry {
  collection_interval = "3s"
}
client {
  meta = { rack = "r2" }
  host_metrics {
    interval = "1s"
    check "tcp" {
      name = "added"
      host = "127.0.0.1"
      port = PORT
    }
  }
  metrics {
    instance "extra" {
      config = "scrape_configs: []\n"
    }
  }
}
`, "PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
	restart, err := cl.API().Agent().Reload()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(restart, []string{"telemetry.collection_interval"}) {
		t.Fatalf("restart required %v", restart)
	}
	if lvl := logLevel(); lvl != "DEBUG" {
		t.Fatalf("log level %v after reload", lvl)
	}
	if in, err := cl.API().Agent().MetricsInstances(); err != nil || !slices.Contains(in, "extra") {
		t.Fatalf("instances %v, %v", in, err)
	}
	after, _, err := c.Servers[0].API().Nodes().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after.Meta["rack"] != "r2" || after.CreateIndex != before.CreateIndex || after.Status != "ready" {
		t.Fatalf("node after reload: meta %v status %s create index %d (was %d)", after.Meta, after.Status, after.CreateIndex, before.CreateIndex)
	}
	// The added check's result reaches the servers with the next pushes.
	testutil.WaitForResult(t, 20*time.Second, func() error {
		m, _, err := c.Servers[0].API().Nodes().Metrics(id, nil)
		if err != nil {
			return err
		}
		for _, r := range m.Payload.TCPCheckResults {
			if r.Name != nil && *r.Name == "added" && r.Success {
				return nil
			}
		}
		return fmt.Errorf("no passing check \"added\" in %+v", m.Payload.TCPCheckResults)
	})

	write("client {\n")
	if _, err := cl.API().Agent().Reload(); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if lvl := logLevel(); lvl != "DEBUG" {
		t.Fatalf("log level %v after a refused reload", lvl)
	}

	// The CLI, then SIGHUP.
	write("log_level = \"DEBUG\"\nclient {\n  meta = { rack = \"r3\" }\n  host_metrics { interval = \"1s\" }\n}\n")
	out, err := exec.Command(Binary(t), "agent", "reload", "-address", cl.URL()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration reloaded") {
		t.Fatalf("nomadlike agent reload: %v\n%s", err, out)
	}
	if in, err := cl.API().Agent().MetricsInstances(); err != nil || slices.Contains(in, "extra") {
		t.Fatalf("instances after removing extra: %v, %v", in, err)
	}
	write("log_level = \"WARN\"\nclient {\n  meta = { rack = \"r3\" }\n  host_metrics { interval = \"1s\" }\n}\n")
	cl.Hangup()
	testutil.WaitForResult(t, 10*time.Second, func() error {
		if lvl := logLevel(); lvl != "WARN" {
			return fmt.Errorf("log level %v after SIGHUP", lvl)
		}
		return nil
	})
	if !strings.Contains(cl.Log(), "Configuration reloaded: log_level") || cl.Exited() {
		t.Fatalf("SIGHUP: exited %v, log:\n%s", cl.Exited(), cl.LogTail(20))
	}
	n, _, err := c.Servers[0].API().Nodes().Info(id, nil)
	if err != nil || n.Meta["rack"] != "r3" || n.CreateIndex != before.CreateIndex {
		t.Fatalf("node at the end: %+v, %v", n, err)
	}
}
