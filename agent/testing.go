package agent

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

var testAgentCount atomic.Int32

// TestAgent starts an in-process agent on free loopback ports with a
// t.TempDir data dir and fast test timings. By default it is a server and
// a client with bootstrap_expect 1; cb may change the config first. It is
// shut down when the test ends.
func TestAgent(t testutil.TB, cb func(*Config)) *Agent {
	t.Helper()
	n := testAgentCount.Add(1)
	c := DefaultConfig()
	c.NodeName = ptr(fmt.Sprintf("agent-%03d", n))
	c.BindAddr = ptr("127.0.0.1")
	c.DataDir = ptr(t.TempDir())
	c.LogLevel = ptr("WARN")
	c.Server.Enabled = ptr(true)
	c.Server.BootstrapExpect = ptr(1)
	c.Client.Enabled = ptr(true)
	c.Server.RetryInterval = ptr("200ms")
	c.serverHook = nomadlike.ApplyTestTimings
	if cb != nil {
		cb(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("test agent config: %v", err)
	}
	var a *Agent
	var err error
	for i := 0; i < 10; i++ {
		ports := testutil.FreePorts(t, 3)
		c.Ports = &Ports{HTTP: ptr(ports[0]), RPC: ptr(ports[1]), Serf: ptr(ports[2])}
		logger := hclog.NewInterceptLogger(&hclog.LoggerOptions{
			Name: *c.NodeName, Level: hclog.Warn, Output: testLogWriter{t},
		})
		if a, err = NewAgent(c, logger); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting test agent: %v", err)
	}
	t.Cleanup(func() { a.Shutdown() })
	return a
}

// URL is the agent's HTTP base address.
func (a *Agent) URL() string { return "http://" + a.HTTPAddr() }

// WaitForAgentLeader waits until the agent's HTTP API reports a leader.
func WaitForAgentLeader(t testutil.TB, a *Agent) {
	t.Helper()
	testutil.WaitForResult(t, 15*time.Second, func() error {
		resp, err := http.Get(a.URL() + "/v1/agent/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health %d", resp.StatusCode)
		}
		return nil
	})
}

// WaitForBlockingQueries waits until the agent's server runs at least n
// blocking queries: a test that starts one and then makes the change it
// waits for knows that the query blocked first.
func WaitForBlockingQueries(t testutil.TB, a *Agent, n int64) {
	t.Helper()
	testutil.WaitForResult(t, 5*time.Second, func() error {
		if got := a.server.BlockingQueries(); got < n {
			return fmt.Errorf("%d blocking queries, want %d", got, n)
		}
		return nil
	})
}

type testLogWriter struct{ t testutil.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	defer func() { recover() }() // output after the test ended
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
