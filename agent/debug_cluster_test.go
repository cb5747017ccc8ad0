package agent

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// debugCluster starts three servers and a client-only agent that knows
// only the first server, all with enable_debug.
func debugCluster(t *testing.T) (servers []*Agent, leader *Agent, client *Agent) {
	t.Helper()
	first := TestAgent(t, func(c *Config) {
		c.Server.BootstrapExpect = ptr(3)
		c.Client.Enabled = ptr(false)
		c.EnableDebug = ptr(true)
	})
	servers = []*Agent{first}
	for i := 0; i < 2; i++ {
		servers = append(servers, TestAgent(t, func(c *Config) {
			c.Server.BootstrapExpect = ptr(3)
			c.Client.Enabled = ptr(false)
			c.Server.RetryJoin = []string{first.advertise.serf}
			c.EnableDebug = ptr(true)
		}))
	}
	for _, a := range servers {
		WaitForAgentLeader(t, a)
	}
	testutil.WaitForResult(t, 15*time.Second, func() error {
		for _, a := range servers {
			if a.server.IsLeader() {
				leader = a
			}
			if n := len(a.server.Members().Members); n != 3 {
				return fmt.Errorf("%d members", n)
			}
		}
		if leader == nil {
			return fmt.Errorf("no leader")
		}
		return nil
	})
	client = TestAgent(t, func(c *Config) {
		c.Server.Enabled = ptr(false)
		c.Server.BootstrapExpect = ptr(0)
		c.Client.Servers = []string{first.server.RPCAddr()}
		c.EnableDebug = ptr(true)
	})
	testutil.WaitForResult(t, 15*time.Second, func() error {
		if !client.client.Registered() {
			return fmt.Errorf("client not registered")
		}
		// Every server must know the node before it can route to it.
		for _, a := range servers {
			if n, _ := a.server.State().NodeByID(nil, client.client.NodeID()); n == nil {
				return fmt.Errorf("%s does not know the node yet", *a.config.NodeName)
			}
		}
		return nil
	})
	return servers, leader, client
}

func followerOf(servers []*Agent, leader *Agent) *Agent {
	for _, a := range servers {
		if a != leader {
			return a
		}
	}
	return nil
}

// Host data, profiles and logs of the leader, of a named server and of a
// client node, asked from every kind of agent: the node is reached through
// the one server it talks to, whichever server is asked.
func TestAgentDebug_ThreeServersAndAClient(t *testing.T) {
	servers, leader, client := debugCluster(t)
	follower := followerOf(servers, leader)
	leaderName := leader.server.LocalMember().Name
	nodeID := client.client.NodeID()

	// server_id=leader from a follower and from the client agent; a
	// server named by its gossip name and by its server ID.
	for _, from := range []*Agent{follower, client} {
		for _, id := range []string{"leader", leaderName, leader.server.Config().NodeID, *leader.config.NodeName} {
			var out structs.HostDataResponse
			getJSON(t, from.URL()+"/v1/agent/host?server_id="+url.QueryEscape(id), &out)
			if out.AgentID != leaderName || out.HostData == nil || out.HostData.OS == "" {
				t.Fatalf("host server_id=%s via %s: %+v", id, *from.config.NodeName, out)
			}
		}
	}
	// node_id through each server (only servers[0] holds the session) and
	// through the client itself.
	for _, from := range append(servers, client) {
		var out structs.HostDataResponse
		getJSON(t, from.URL()+"/v1/agent/host?node_id="+nodeID, &out)
		if out.AgentID != nodeID || out.HostData == nil {
			t.Fatalf("host node_id via %s: %+v", *from.config.NodeName, out)
		}
		code, h, body := call(t, http.MethodGet, from.URL()+"/v1/agent/pprof/goroutine?debug=1&node_id="+nodeID)
		if code != 200 || h.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.Contains(string(body), "goroutine profile:") {
			t.Fatalf("pprof node_id via %s: %d %.200s", *from.config.NodeName, code, body)
		}
	}

	// The leader's logs, streamed through a follower.
	resp, _ := openStream(t, follower.URL()+"/v1/agent/monitor?server_id=leader&log_level=debug", "")
	if resp.StatusCode != 200 {
		t.Fatalf("monitor leader: %d", resp.StatusCode)
	}
	fr := readFrames(resp.Body)
	fr.logUntil(t, func() { leader.logger.Named("test").Debug("hello from the leader") }, "hello from the leader", 5*time.Second)

	// The client's logs, through a server that does not hold its session.
	resp, _ = openStream(t, servers[2].URL()+"/v1/agent/monitor?node_id="+nodeID, "")
	fr = readFrames(resp.Body)
	fr.logUntil(t, func() { client.logger.Named("test").Info("hello from the client") }, "hello from the client", 5*time.Second)

	// And the leader's, from the client agent's own HTTP API.
	resp, _ = openStream(t, client.URL()+"/v1/agent/monitor?server_id=leader", "")
	fr = readFrames(resp.Body)
	fr.logUntil(t, func() { leader.logger.Named("test").Info("hello again from the leader") }, "hello again from the leader", 5*time.Second)

	// A 1 s CPU profile of the leader, taken through a follower, is what
	// go tool pprof reads.
	code, h, body := call(t, http.MethodGet, follower.URL()+"/v1/agent/pprof/profile?seconds=1&server_id=leader")
	if code != 200 || h.Get("Content-Disposition") != `attachment; filename="profile"` {
		t.Fatalf("cpu profile: %d %v %.200s", code, h, body)
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Fatalf("no go tool: %v", err)
		}
	}
	path := filepath.Join(t.TempDir(), "profile")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "tool", "pprof", "-top", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "flat%") {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}

	// Errors keep their status across the hops.
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/v1/agent/pprof/nope?server_id=leader", 404, "Pprof profile not found profile: nope"},
		{"/v1/agent/pprof/nope?node_id=" + nodeID, 404, "Pprof profile not found profile: nope"},
		{"/v1/agent/host?server_id=ghost", 400, "unknown nomadlike server ghost"},
		{"/v1/agent/monitor?node_id=8d2c6f3e-0000-4000-8000-00000000dead", 404, `Unknown node "8d2c6f3e-0000-4000-8000-00000000dead"`},
		{"/v1/agent/monitor?server_id=ghost", 400, "unknown nomadlike server ghost"},
	} {
		for _, from := range []*Agent{follower, client} {
			code, _, body := call(t, http.MethodGet, from.URL()+tc.path)
			if code != tc.code || string(body) != tc.body {
				t.Errorf("%s via %s: %d %q, want %d %q", tc.path, *from.config.NodeName, code, body, tc.code, tc.body)
			}
		}
	}

	// Once the client is gone, no server has a path to it.
	client.Shutdown()
	testutil.WaitForResult(t, 10*time.Second, func() error {
		code, _, body := call(t, http.MethodGet, servers[1].URL()+"/v1/agent/host?node_id="+nodeID)
		if code != 404 || string(body) != "No path to node" {
			return fmt.Errorf("%d %s", code, body)
		}
		return nil
	})
}
