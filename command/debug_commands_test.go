package command

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMonitorCommand(t *testing.T) {
	// Two frames that cut a line, a heartbeat, then the agent ends the
	// stream.
	f := newFakeAgent(t, map[string]reply{
		"GET /v1/agent/monitor": {200, `{"Offset":16,"Data":"bGluZSBvbmUKbGluZSB0","FileEvent":"log"}` + "\n{}\n" +
			`{"Offset":20,"Data":"d28K","FileEvent":"log"}` + "\n"},
	})
	r := runCommand(t, f, "monitor", "-log-level=debug", "-server-id=leader", "-json")
	mustSucceed(t, r)
	if r.stdout != "line one\nline two\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
	q := f.find(t, "GET", "/v1/agent/monitor").query
	if q.Get("log_level") != "debug" || q.Get("server_id") != "leader" || q.Get("log_json") != "true" || q.Has("node_id") {
		t.Fatalf("query %v", q)
	}

	f = newFakeAgent(t, map[string]reply{"GET /v1/agent/monitor": {400, "Unknown log level: loud"}})
	mustFail(t, runCommand(t, f, "monitor", "-log-level=loud"), "Error starting monitor: Unexpected response code: 400 (Unknown log level: loud)")
	mustFail(t, runCommand(t, f, "monitor", "-server-id=a", "-node-id=b"), "Only one of -server-id and -node-id")
}

func TestOperatorPprofCommand(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"GET /v1/agent/pprof/goroutine": {200, "GOROUTINES"},
		"GET /v1/agent/pprof/profile":   {200, "CPU"},
		"GET /v1/agent/pprof/nope":      {404, "Pprof profile not found profile: nope"},
	})
	out := filepath.Join(t.TempDir(), "g.prof")
	r := runCommand(t, f, "operator pprof", "-profile=goroutine", "-debug=1", "-node-id=n1", "-output="+out)
	mustSucceed(t, r)
	if b, err := os.ReadFile(out); err != nil || string(b) != "GOROUTINES" || !strings.Contains(r.stdout, "Wrote 10 bytes of goroutine profile to "+out) {
		t.Fatalf("file %q %v, stdout %q", b, err, r.stdout)
	}
	q := f.find(t, "GET", "/v1/agent/pprof/goroutine").query
	if q.Get("debug") != "1" || q.Get("node_id") != "n1" || q.Get("seconds") != "1" {
		t.Fatalf("query %v", q)
	}

	// cpu is the default; the file is named after it in the working dir.
	t.Chdir(t.TempDir())
	mustSucceed(t, runCommand(t, f, "operator pprof", "-seconds=2", "-server-id=leader"))
	if b, err := os.ReadFile("profile"); err != nil || string(b) != "CPU" {
		t.Fatalf("profile file %q %v", b, err)
	}
	if q := f.find(t, "GET", "/v1/agent/pprof/profile").query; q.Get("seconds") != "2" || q.Get("server_id") != "leader" {
		t.Fatalf("query %v", q)
	}

	mustFail(t, runCommand(t, f, "operator pprof", "-profile=nope"),
		"Error taking the nope profile: Unexpected response code: 404 (Pprof profile not found profile: nope)")
	mustFail(t, runCommand(t, f, "operator pprof", "-seconds=0"), "-seconds must be at least 1")
}

func TestOperatorHostCommand(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"GET /v1/agent/host": {200, `{"AgentID":"s1.global","HostData":{"OS":"linux","Disk":{"/":{"DiskMB":10,"UsedMB":5}}}}`},
	})
	r := runCommand(t, f, "operator host", "-server-id=leader")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, `"AgentID": "s1.global"`) || !strings.Contains(r.stdout, `"DiskMB": 10`) {
		t.Fatalf("stdout %s", r.stdout)
	}
	if q := f.find(t, "GET", "/v1/agent/host").query; q.Get("server_id") != "leader" || q.Has("node_id") {
		t.Fatalf("query %v", q)
	}
}
