package testcluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// lokiReceiver is a Loki push endpoint (JSON body) that records the lines
// it accepted, in order.
type lokiReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	lines  []string
	labels []map[string]string
}

func newLokiReceiver(t *testing.T) *lokiReceiver {
	r := &lokiReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			Streams []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"streams"`
		}
		if req.URL.Path != "/loki/api/v1/push" || json.NewDecoder(req.Body).Decode(&body) != nil {
			http.Error(w, "bad push", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range body.Streams {
			for _, v := range s.Values {
				r.lines = append(r.lines, v[1])
				r.labels = append(r.labels, s.Stream)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *lokiReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lines)
}

// TestLogs_Process: a client agent process tails files under a glob and
// pushes their lines to a Loki push receiver; across a rotation, a
// SIGTERM restart with lines written while it was down, a reload that
// adds an instance and a logs_instance_config assigned by the servers,
// every line arrives exactly once and in order per file, and
// /agent/api/v1/logs/targets (api and CLI) shows the offsets.
func TestLogs_Process(t *testing.T) {
	r := newLokiReceiver(t)
	c := New(t, Options{Servers: 1})
	logDir := t.TempDir()
	path := filepath.Join(logDir, "app.log")
	cfgPath := filepath.Join(t.TempDir(), "client.hcl")
	instance := func(name, glob string) string {
		return fmt.Sprintf(`
    instance %q {
      config = <<EOT
clients:
  - url: %s/loki/api/v1/push
    batchwait: 100ms
    backoff_config: { min_period: 50ms, max_period: 200ms }
scrape_configs:
  - job_name: %s
    static_configs:
      - labels: { job: %s, __path__: %q }
EOT
    }`, name, r.srv.URL, name, name, glob)
	}
	writeConfig := func(instances ...string) {
		t.Helper()
		text := "client {\n  logs {" + strings.Join(instances, "\n") + "\n  }\n}\n"
		if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(instance("app", filepath.Join(logDir, "*.log")))

	seq := 0 // lines are "<file> <n>"
	write := func(f *os.File, tag string, n int) {
		t.Helper()
		var b strings.Builder
		for range n {
			seq++
			fmt.Fprintf(&b, "%s %d\n", tag, seq)
		}
		if _, err := f.WriteString(b.String()); err != nil {
			t.Fatal(err)
		}
	}
	open := func(p string) *os.File {
		t.Helper()
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	wait := func(what string, n int) {
		t.Helper()
		testutil.WaitForResult(t, 30*time.Second, func() error {
			if got := r.count(); got < n {
				return fmt.Errorf("%s: %d of %d lines received", what, got, n)
			}
			return nil
		})
	}

	first := open(path)
	write(first, "first", 200)
	cl := NewAgent(t, c.Dir, "client-1", false, true, "-servers", c.Servers[0].RPCAddr(), "-config", cfgPath)
	cl.Start()
	c.WaitForNodeStatus(cl.NodeID(), "ready")
	wait("before the rotation", 200)

	// Rotation: the file is renamed out of the glob, its writer goes on
	// a little, then writes to a new file under the old name.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(first, "first", 20)
	second := open(path)
	write(second, "second", 100)
	wait("after the rotation", 320)

	// A restart, with lines written before the stop and while down.
	write(second, "second", 50)
	cl.Stop()
	write(second, "second", 50)
	cl.Start()
	wait("after the restart", 420)

	// A reload adds an instance; the first keeps its place.
	other := filepath.Join(logDir, "other.txt")
	writeConfig(instance("app", filepath.Join(logDir, "*.log")), instance("other", other))
	write(open(other), "other", 10)
	if _, err := cl.API().Agent().Reload(); err != nil {
		t.Fatal(err)
	}
	if in, err := cl.API().Agent().LogsInstances(); err != nil || !slices.Equal(in, []string{"app", "other"}) {
		t.Fatalf("logs instances %v, %v", in, err)
	}
	wait("the added instance", 430)

	// A logs_instance_config stored in the cluster is assigned to the
	// client (the only one) and run beside the local ones; deleted with
	// the CLI, it stops.
	fleetFile := filepath.Join(logDir, "fleet.txt") // outside app's *.log
	fleet := instance("fleet", fleetFile)
	fleet = fleet[strings.Index(fleet, "<<EOT\n")+6 : strings.Index(fleet, "EOT\n    }")]
	if created, _, err := c.Servers[0].API().LogsConfigs().Put("fleet", fleet, nil); err != nil || !created {
		t.Fatalf("put logs config: %v %v", created, err)
	}
	write(open(fleetFile), "fleet", 10)
	testutil.WaitForResult(t, 30*time.Second, func() error {
		in, err := cl.API().Agent().LogsInstances()
		if err != nil || !slices.Equal(in, []string{"app", "fleet", "other"}) {
			return fmt.Errorf("logs instances %v, %v", in, err)
		}
		return nil
	})
	wait("the assigned instance", 440)
	if out, err := exec.Command(Binary(t), "config", "delete", "-logs", "-address", c.Servers[0].URL(), "fleet").CombinedOutput(); err != nil {
		t.Fatalf("config delete -logs: %v\n%s", err, out)
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		if in, err := cl.API().Agent().LogsInstances(); err != nil || !slices.Equal(in, []string{"app", "other"}) {
			return fmt.Errorf("logs instances %v, %v", in, err)
		}
		return nil
	})

	// Exactly once, in order per file.
	r.mu.Lock()
	lines, labels := slices.Clone(r.lines), slices.Clone(r.labels)
	r.mu.Unlock()
	seen := map[string]bool{}
	last := map[string]int{}
	for i, l := range lines {
		if seen[l] {
			t.Errorf("line %q received twice", l)
		}
		seen[l] = true
		tag, num, _ := strings.Cut(l, " ")
		n, _ := strconv.Atoi(num)
		if n <= last[tag] {
			t.Errorf("line %q after %s %d", l, tag, last[tag])
		}
		last[tag] = n
		if want := map[string]string{"first": "app", "second": "app", "other": "other", "fleet": "fleet"}[tag]; labels[i]["job"] != want || labels[i]["filename"] == "" {
			t.Errorf("line %q labels %v", l, labels[i])
		}
	}
	if len(seen) != seq {
		t.Errorf("%d distinct lines received, %d written", len(seen), seq)
	}

	// The targets show each file's offset: its size, all pushed.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitForResult(t, 10*time.Second, func() error {
		targets, err := cl.API().Agent().LogsTargets()
		if err != nil {
			return err
		}
		if len(targets) != 2 || targets[0].Instance != "app" || targets[0].Type != "File" || !targets[0].Ready ||
			targets[0].Details[path] != fi.Size() {
			return fmt.Errorf("targets %+v, want app's %s at %d", targets, path, fi.Size())
		}
		return nil
	})
	out, err := exec.Command(Binary(t), "logs", "-address", cl.URL()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), path) || !strings.Contains(string(out), strconv.FormatInt(fi.Size(), 10)) {
		t.Fatalf("nomadlike logs: %v\n%s", err, out)
	}
}
