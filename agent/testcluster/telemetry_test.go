package testcluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// missing lists the wants absent from a scrape.
func missing(scrape string, wants []string) []string {
	var out []string
	for _, w := range wants {
		if !strings.Contains(scrape, w) {
			out = append(out, w)
		}
	}
	return out
}

// A real cluster's agents serve their own telemetry: every server's
// Prometheus endpoint has hashicorp/raft's and memberlist's series (they
// reach go-metrics' global through its compat package), the HTTP and RPC
// layers' and the Go runtime's; the leader's has the write path's; the
// client's its heartbeats. The scrape needs no token even with ACLs on.
func TestCluster_Telemetry(t *testing.T) {
	c := New(t, Options{Servers: 3, Clients: 1, ACL: true, ServerArgs: serverArgs(t, "")})
	leader := c.WaitForLeader()
	anon := func(a *Agent) *api.Client {
		cl, err := api.NewClient(&api.Config{Address: a.URL()})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	every := []string{
		"nomadlike_raft_",       // hashicorp/raft
		"nomadlike_memberlist_", // hashicorp/memberlist
		`nomadlike_http_request{code="200",method="GET",route="/v1/status/leader"`,
		"nomadlike_nomadlike_rpc_request{method=",
		"nomadlike_nomadlike_rpc_blocking_queries",
		"go_goroutines", "process_cpu_seconds_total",
	}
	leaderOnly := []string{
		`nomadlike_nomadlike_raftApply_count{type="node_register"}`,
		`nomadlike_nomadlike_fsm_apply_count{type="node_register"}`,
		"nomadlike_nomadlike_broker_eval_enqueued{scheduler=",
		"nomadlike_nomadlike_broker_total_ready",
	}
	for _, s := range c.Servers {
		wants := every
		if s == leader {
			wants = append(append([]string{}, every...), leaderOnly...)
		}
		testutil.WaitForResult(t, 30*time.Second, func() error {
			// The HTTP series needs a request before the scrape.
			if _, err := s.API().Status().Leader(); err != nil {
				return err
			}
			text, err := anon(s).Agent().MetricsPrometheus(nil)
			if err != nil {
				return err
			}
			if m := missing(string(text), wants); len(m) > 0 {
				return fmt.Errorf("%s: no %v", s.Name, m)
			}
			return nil
		})
	}

	cl := c.Clients[0]
	testutil.WaitForResult(t, 30*time.Second, func() error {
		text, err := anon(cl).Agent().MetricsPrometheus(nil)
		if err != nil {
			return err
		}
		if m := missing(string(text), []string{"nomadlike_client_heartbeat", "go_goroutines"}); len(m) > 0 {
			return fmt.Errorf("client: no %v", m)
		}
		// The JSON summary answers too, in go-metrics' shape.
		sum, err := anon(cl).Agent().Metrics(nil)
		if err != nil {
			return err
		}
		for _, s := range sum.Samples {
			if s.Name == "nomadlike.client.heartbeat" && s.AggregateSample != nil && s.Count > 0 {
				return nil
			}
		}
		return fmt.Errorf("client: no heartbeat sample in %+v", sum.Samples)
	})
}
