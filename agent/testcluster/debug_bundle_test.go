package testcluster

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// bundleEntries are the entries of every agent's support bundle.
var bundleEntries = []string{"agent-config.yaml", "agent-logs-instances.json", "agent-logs-targets.json",
	"agent-logs.txt", "agent-metadata.yaml", "agent-metrics-instances.json", "agent-metrics-targets.json",
	"agent-metrics.txt", "pprof/block.pprof", "pprof/cpu.pprof", "pprof/goroutine.pprof", "pprof/heap.pprof",
	"pprof/mutex.pprof"}

// TestOperatorDebug: `operator debug` gathers the support bundles of 3
// servers and 2 client nodes through one server into one archive; each
// holds every entry, and none holds a secret planted in the agents'
// configurations (a client token, a remote_write password, a check's
// basic-auth password).
func TestOperatorDebug(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secrets := []string{"rw-secret-e2e", "client-token-e2e", "check-secret-e2e"}
	srvCfg := write("server.hcl", `server {
  host_metrics {
    remote_write {
      url = "http://127.0.0.1:9/api/v1/write"
      basic_auth {
        username = "u"
        password = "rw-secret-e2e"
      }
    }
  }
}
`)
	cliCfg := write("client.hcl", `client {
  token = "client-token-e2e"
  host_metrics {
    check "http" {
      url = "http://u:check-secret-e2e@127.0.0.1:9/health"
    }
  }
}
`)
	common := []string{"-enable-debug", "-config.enable-read-api"}
	c := New(t, Options{Servers: 3, Clients: 2,
		ServerArgs: append([]string{"-config", srvCfg}, common...),
		ClientArgs: append([]string{"-config", cliCfg}, common...)})
	archive := filepath.Join(dir, "debug.zip")
	out, err := exec.Command(Binary(t), "operator", "debug", "-duration", "1s", "-node-id", "all",
		"-output", archive, "-address", c.Servers[1].URL()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Wrote "+archive+": 5 of 5 agent(s)") {
		t.Fatalf("operator debug: %v\n%s", err, out)
	}
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
		for _, s := range secrets {
			if bytes.Contains(files[f.Name], []byte(s)) {
				t.Errorf("%s holds the secret %q", f.Name, s)
			}
		}
	}
	dirs := map[string]bool{}
	for name := range files {
		kind, rest, _ := strings.Cut(name, "/")
		id, _, _ := strings.Cut(rest, "/")
		dirs[kind+"/"+id] = true
	}
	var servers, clients int
	for d := range dirs {
		for _, e := range bundleEntries {
			if _, ok := files[d+"/"+e]; !ok {
				t.Errorf("%s has no %s", d, e)
			}
		}
		switch {
		case strings.HasPrefix(d, "server/"):
			servers++
			if !bytes.Contains(files[d+"/agent-config.yaml"], []byte("password: <secret>")) {
				t.Errorf("%s/agent-config.yaml:\n%s", d, files[d+"/agent-config.yaml"])
			}
		case strings.HasPrefix(d, "client/"):
			clients++
			if !bytes.Contains(files[d+"/agent-config.yaml"], []byte("token: <secret>")) {
				t.Errorf("%s/agent-config.yaml:\n%s", d, files[d+"/agent-config.yaml"])
			}
		}
	}
	for _, cl := range c.Clients {
		if !dirs["client/"+cl.NodeID()] {
			t.Errorf("no bundle of node %s in %v", cl.NodeID(), dirs)
		}
	}
	if servers != 3 || clients != 2 {
		t.Fatalf("bundles of %d servers and %d clients: %v", servers, clients, dirs)
	}
}
