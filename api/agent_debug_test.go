package api_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/api"
)

// The debug calls against a real agent (dev-like: server and client, with
// enable_debug).
func TestAgentDebug_Integration(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) { c.EnableDebug = ptr(true) })
	agent.WaitForAgentLeader(t, a)
	c := newClient(t, a)
	ag := c.Agent()

	host, err := ag.Host("", "", nil)
	if err != nil || host.AgentID != memberName(a) || host.HostData == nil || host.HostData.OS == "" {
		t.Fatalf("Host: %+v %v", host, err)
	}
	host, err = ag.Host("", a.Client().NodeID(), nil)
	if err != nil || host.AgentID != a.Client().NodeID() {
		t.Fatalf("Host(node): %+v %v", host, err)
	}
	_, err = ag.Host("leader", a.Client().NodeID(), nil)
	wantUnexpected(t, "Host(both)", err, 400, "Can only forward to either client node or server")

	// The agent logs every request at debug level: the monitor sees the
	// health check made after it started.
	stop := make(chan struct{})
	frames, errCh := ag.Monitor(stop, &api.QueryOptions{Params: map[string]string{"log_level": "debug", "server_id": "leader"}})
	if frames == nil {
		t.Fatalf("Monitor: %v", <-errCh)
	}
	if _, err := ag.Health(); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	deadline := time.After(5 * time.Second)
	for !strings.Contains(got.String(), "path=/v1/agent/health") {
		select {
		case f := <-frames:
			if f == nil {
				t.Fatalf("stream ended: %v", <-errCh)
			}
			got.Write(f.Data)
		case <-deadline:
			t.Fatalf("no health line in %q", got.String())
		}
	}
	close(stop)
	select {
	case _, ok := <-frames:
		for ok {
			_, ok = <-frames
		}
	case <-time.After(2 * time.Second):
		t.Fatal("frames not closed after stop")
	}
	select {
	case err := <-errCh:
		t.Fatalf("error after stop: %v", err)
	default:
	}
	frames, errCh = ag.Monitor(nil, &api.QueryOptions{Params: map[string]string{"log_level": "loud"}})
	if frames != nil {
		t.Fatal("frames for a bad level")
	}
	wantUnexpected(t, "Monitor(bad level)", <-errCh, 400, "Unknown log level: loud")

	prof, err := ag.CPUProfile(api.PprofOptions{Seconds: 1, ServerID: "leader"}, nil)
	if err != nil || len(prof) == 0 {
		t.Fatalf("CPUProfile: %d %v", len(prof), err)
	}
	text, err := ag.Lookup("goroutine", api.PprofOptions{Debug: 1, NodeID: a.Client().NodeID()}, nil)
	if err != nil || !strings.Contains(string(text), "goroutine profile:") {
		t.Fatalf("Lookup: %v", err)
	}
	cmd, err := ag.Cmdline(api.PprofOptions{}, nil)
	if err != nil || len(cmd) == 0 {
		t.Fatalf("Cmdline: %v", err)
	}
	tr, err := ag.Trace(api.PprofOptions{}, nil)
	if err != nil || len(tr) == 0 {
		t.Fatalf("Trace: %v", err)
	}
	_, err = ag.Lookup("nope", api.PprofOptions{}, nil)
	wantUnexpected(t, "Lookup(nope)", err, 404, "Pprof profile not found profile: nope")
}
