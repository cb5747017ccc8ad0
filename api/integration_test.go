package api_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// These tests drive the api package against real in-process agents (the
// other tests of this package use a fake HTTP server), so that the client's
// paths, parameters and decoding are checked against the handlers they talk
// to.

// ptr returns a pointer to v; agent.Config fields are pointers.
func ptr[T any](v T) *T { return &v }

// newClient returns an api client for the agent.
func newClient(t *testing.T, a *agent.Agent) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: a.URL()})
	if err != nil {
		t.Fatalf("NewClient(%s): %v", a.URL(), err)
	}
	return c
}

// wantUnexpected checks that err is an api.UnexpectedResponseError with the
// given status whose body contains bodyPart.
func wantUnexpected(t *testing.T, what string, err error, code int, bodyPart string) {
	t.Helper()
	var ure api.UnexpectedResponseError
	if !errors.As(err, &ure) {
		t.Fatalf("%s: error %v (%T), want UnexpectedResponseError %d", what, err, err, code)
	}
	if ure.StatusCode() != code || !strings.Contains(ure.Body(), bodyPart) {
		t.Fatalf("%s: %d %q, want %d containing %q", what, ure.StatusCode(), ure.Body(), code, bodyPart)
	}
}

// memberName is the gossip name of an agent's server.
func memberName(a *agent.Agent) string { return a.Server().Config().NodeName + ".global" }

// serfAddr is the gossip address of a server agent, from its /v1/agent/self.
func serfAddr(t *testing.T, c *api.Client) string {
	t.Helper()
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatalf("Self: %v", err)
	}
	if self.Member.Addr == "" || self.Member.Port == 0 {
		t.Fatalf("self member has no gossip address: %+v", self.Member)
	}
	return net.JoinHostPort(self.Member.Addr, strconv.Itoa(int(self.Member.Port)))
}

func TestIntegration_SingleAgent(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) {
		c.Client.Meta = map[string]string{"env": "test"}
	})
	agent.WaitForAgentLeader(t, a)
	c := newClient(t, a)
	rpcAddr := a.Server().RPCAddr()
	_, rpcPort, _ := net.SplitHostPort(rpcAddr)
	name := a.Server().Config().NodeName

	t.Run("Agent.Members", func(t *testing.T) {
		m, err := c.Agent().Members()
		if err != nil {
			t.Fatal(err)
		}
		if m.ServerName != name || m.ServerRegion != "global" || m.ServerDC != "dc1" || len(m.Members) != 1 {
			t.Fatalf("members %+v", m)
		}
		mem := m.Members[0]
		if mem.Name != memberName(a) || mem.Addr != "127.0.0.1" || mem.Port == 0 || mem.Status != "alive" ||
			mem.Tags["port"] != rpcPort || mem.Tags["region"] != "global" || mem.Tags["dc"] != "dc1" ||
			mem.ProtocolCur == 0 || mem.ProtocolMax < mem.ProtocolMin {
			t.Fatalf("member %+v", mem)
		}
	})

	t.Run("Agent.Self", func(t *testing.T) {
		self, err := c.Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		if self.Config["Region"] != "global" || self.Config["Datacenter"] != "dc1" || self.Config["NodeName"] != name {
			t.Fatalf("self config %v", self.Config)
		}
		if server, _ := self.Config["Server"].(map[string]any); server["Enabled"] != true || server["BootstrapExpect"] != float64(1) {
			t.Fatalf("self server config %v", self.Config["Server"])
		}
		if client, _ := self.Config["Client"].(map[string]any); client["Enabled"] != true {
			t.Fatalf("self client config %v", self.Config["Client"])
		} else if meta, _ := client["Meta"].(map[string]any); meta["env"] != "test" {
			t.Fatalf("self client meta %v", client["Meta"])
		}
		if self.Member.Name != memberName(a) || self.Member.Status != "alive" || self.Member.Tags["port"] != rpcPort {
			t.Fatalf("self member %+v", self.Member)
		}
		st := self.Stats
		if st["nomad"]["server"] != "true" || st["nomad"]["leader"] != "true" || st["nomad"]["leader_addr"] != rpcAddr ||
			st["raft"]["state"] != "Leader" || st["serf"]["members"] != "1" ||
			st["client"]["node_id"] != a.Client().NodeID() || st["runtime"]["arch"] != runtime.GOARCH {
			t.Fatalf("self stats %v", st)
		}
	})

	t.Run("Agent.Health", func(t *testing.T) {
		h, err := c.Agent().Health()
		if err != nil {
			t.Fatal(err)
		}
		if h.Server == nil || !h.Server.Ok || h.Server.Message != "ok" || h.Client == nil || !h.Client.Ok || h.Client.Message != "ok" {
			t.Fatalf("health %+v %+v", h.Server, h.Client)
		}
	})

	t.Run("Agent.Join", func(t *testing.T) {
		// Port 1 on loopback refuses connections: the join fails and
		// the agent reports it in the body.
		n, err := c.Agent().Join("127.0.0.1:1")
		if err == nil || !strings.HasPrefix(err.Error(), "failed joining: ") || n != 0 {
			t.Fatalf("join to nowhere: %d, %v", n, err)
		}
		var ure api.UnexpectedResponseError
		if errors.As(err, &ure) {
			t.Fatalf("join failure should come from the body, not the status: %v", err)
		}
		// The failed join left the pool as it was.
		if m, err := c.Agent().Members(); err != nil || len(m.Members) != 1 {
			t.Fatalf("members after failed join: %+v, %v", m, err)
		}
	})

	t.Run("Agent.ForceLeave", func(t *testing.T) {
		wantUnexpected(t, "force-leave of unknown node", c.Agent().ForceLeave("ghost"), 400, "ghost")
		err := c.Agent().ForceLeaveWithOptions("ghost", api.ForceLeaveOpts{Prune: true})
		wantUnexpected(t, "force-leave -prune of unknown node", err, 400, "ghost")
	})

	t.Run("Status", func(t *testing.T) {
		leader, err := c.Status().Leader()
		if err != nil || leader != rpcAddr {
			t.Fatalf("leader %q, %v; want %q", leader, err, rpcAddr)
		}
		peers, err := c.Status().Peers()
		if err != nil || !slices.Equal(peers, []string{rpcAddr}) {
			t.Fatalf("peers %v, %v; want [%s]", peers, err, rpcAddr)
		}
	})

	t.Run("Operator", func(t *testing.T) {
		for _, stale := range []bool{false, true} {
			cfg, err := c.Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: stale})
			if err != nil {
				t.Fatalf("stale=%v: %v", stale, err)
			}
			// cfg.Index is not checked: the server reports 0 (raft's
			// GetConfiguration no longer fills the index).
			if len(cfg.Servers) != 1 {
				t.Fatalf("stale=%v: configuration %+v", stale, cfg)
			}
			s := cfg.Servers[0]
			if s.ID == "" || s.Node != memberName(a) || s.Address != rpcAddr || !s.Leader || !s.Voter || s.RaftProtocol != "3" {
				t.Fatalf("stale=%v: raft server %+v", stale, s)
			}
		}
		wantUnexpected(t, "remove unknown peer", c.Operator().RaftRemovePeerByID("no-such-id", nil), 400, "no-such-id")
		// The failed removal changed nothing.
		if cfg, err := c.Operator().RaftGetConfiguration(nil); err != nil || len(cfg.Servers) != 1 {
			t.Fatalf("configuration after failed removal: %+v, %v", cfg, err)
		}
	})

	// The agent's own client registers in the background: poll for it.
	var stub *api.NodeListStub
	var listMeta *api.QueryMeta
	testutil.WaitForResult(t, 10*time.Second, func() error {
		nodes, qm, err := c.Nodes().List(nil)
		if err != nil {
			return err
		}
		if len(nodes) != 1 || nodes[0].Status != api.NodeStatusReady {
			return fmt.Errorf("want 1 ready node, got %d", len(nodes))
		}
		stub, listMeta = nodes[0], qm
		return nil
	})

	t.Run("Nodes.List", func(t *testing.T) {
		if stub.ID != a.Client().NodeID() || stub.Name != name || stub.Datacenter != "dc1" ||
			stub.HTTPAddr != a.HTTPAddr() || stub.StatusDescription == "" || stub.Meta["env"] != "test" ||
			stub.Attributes["collector.os"] != runtime.GOOS || stub.Attributes["collector.arch"] != runtime.GOARCH ||
			stub.CreateIndex == 0 || stub.ModifyIndex < stub.CreateIndex {
			t.Fatalf("node stub %+v", stub)
		}
		if listMeta.LastIndex < stub.ModifyIndex || !listMeta.KnownLeader || listMeta.LastContact != 0 || listMeta.RequestTime <= 0 {
			t.Fatalf("query meta %+v", listMeta)
		}
		nodes, qm, err := c.Nodes().List(&api.QueryOptions{AllowStale: true})
		if err != nil || len(nodes) != 1 || nodes[0].ID != stub.ID || qm.LastIndex != listMeta.LastIndex {
			t.Fatalf("stale list: %v, %+v, %v", nodes, qm, err)
		}
	})

	t.Run("Nodes.Info", func(t *testing.T) {
		n, qm, err := c.Nodes().Info(stub.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n.ID != stub.ID || n.Name != name || n.Datacenter != "dc1" || n.HTTPAddr != stub.HTTPAddr ||
			n.Status != api.NodeStatusReady || n.StatusDescription != stub.StatusDescription || n.StatusUpdatedAt == 0 ||
			n.Meta["env"] != "test" || n.Attributes["hostname"] == "" ||
			n.CreateIndex != stub.CreateIndex || n.ModifyIndex != stub.ModifyIndex {
			t.Fatalf("node %+v", n)
		}
		if qm.LastIndex == 0 || !qm.KnownLeader {
			t.Fatalf("query meta %+v", qm)
		}
		_, _, err = c.Nodes().Info("00000000-0000-4000-8000-000000000000", nil)
		wantUnexpected(t, "info of unknown node", err, 404, "node not found")
		if _, _, err := c.Nodes().Info("", nil); err == nil {
			t.Fatal("info with an empty ID: no error")
		}
	})

	t.Run("Nodes.PrefixList", func(t *testing.T) {
		for _, prefix := range []string{stub.ID[:4], stub.ID[:8], stub.ID} {
			nodes, _, err := c.Nodes().PrefixList(prefix)
			if err != nil || len(nodes) != 1 || nodes[0].ID != stub.ID {
				t.Fatalf("prefix %q: %v, %v", prefix, nodes, err)
			}
		}
		nodes, _, err := c.Nodes().PrefixList("ffff")
		if err != nil || nodes == nil || len(nodes) != 0 {
			t.Fatalf("prefix ffff: %#v, %v", nodes, err)
		}
		// QueryOptions.Prefix is the same parameter.
		nodes, _, err = c.Nodes().List(&api.QueryOptions{Prefix: stub.ID[:6]})
		if err != nil || len(nodes) != 1 {
			t.Fatalf("List with Prefix: %v, %v", nodes, err)
		}
	})

	t.Run("BlockingQuery", func(t *testing.T) {
		// Nothing changes the nodes (heartbeats of a ready node do not
		// write): the query returns after its wait with the same index.
		const wait = 400 * time.Millisecond
		_, qm, err := c.Nodes().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		idx := qm.LastIndex
		start := time.Now()
		nodes, qm, err := c.Nodes().List(&api.QueryOptions{WaitIndex: idx, WaitTime: wait})
		elapsed := time.Since(start)
		if err != nil || len(nodes) != 1 {
			t.Fatalf("blocking list: %v, %v", nodes, err)
		}
		// The server adds up to wait/16 of jitter, and the request
		// takes a moment of its own.
		if elapsed < wait || elapsed > wait+wait/16+2*time.Second {
			t.Fatalf("blocking query returned after %s, want about %s", elapsed, wait)
		}
		if qm.LastIndex != idx {
			t.Fatalf("index moved from %d to %d with nothing changed", idx, qm.LastIndex)
		}

		// Node.Info blocks the same way.
		start = time.Now()
		if _, _, err := c.Nodes().Info(stub.ID, &api.QueryOptions{WaitIndex: idx, WaitTime: wait}); err != nil {
			t.Fatal(err)
		}
		if elapsed := time.Since(start); elapsed < wait {
			t.Fatalf("blocking info returned after %s, want at least %s", elapsed, wait)
		}

		// A change wakes a waiting query long before its wait runs out.
		type result struct {
			nodes []*api.NodeListStub
			qm    *api.QueryMeta
			err   error
		}
		done := make(chan result, 1)
		go func() {
			nodes, qm, err := c.Nodes().List(&api.QueryOptions{WaitIndex: idx, WaitTime: 30 * time.Second})
			done <- result{nodes, qm, err}
		}()
		other := &structs.Node{
			ID: "5a3c2a0e-0000-4000-8000-00000000abcd", SecretID: "secret", Name: "other",
			Datacenter: "dc1", Status: structs.NodeStatusReady,
		}
		var resp structs.NodeUpdateResponse
		if err := a.RPC("Node.Register", &structs.NodeRegisterRequest{Node: other}, &resp); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.err != nil || len(r.nodes) != 2 || r.qm.LastIndex <= idx {
				t.Fatalf("woken query: %d nodes, %+v, %v", len(r.nodes), r.qm, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("blocking query did not wake on a change")
		}
	})

	t.Run("Agent.Servers", func(t *testing.T) {
		servers, err := c.Agent().Servers()
		if err != nil || !slices.Equal(servers, []string{rpcAddr}) {
			t.Fatalf("servers %v, %v; want [%s]", servers, err, rpcAddr)
		}
		other := "127.0.0.1:1"
		if err := c.Agent().SetServers([]string{other, rpcAddr}); err != nil {
			t.Fatal(err)
		}
		servers, err = c.Agent().Servers()
		want := []string{rpcAddr, other}
		slices.Sort(want)
		if err != nil || !slices.Equal(servers, want) {
			t.Fatalf("servers after set %v, %v; want %v", servers, err, want)
		}
		wantUnexpected(t, "set servers without a port", c.Agent().SetServers([]string{"nope"}), 400, "nope")
		wantUnexpected(t, "set no servers", c.Agent().SetServers(nil), 400, "missing server address")
		if err := c.Agent().SetServers([]string{rpcAddr}); err != nil {
			t.Fatal(err)
		}
		if servers, err := c.Agent().Servers(); err != nil || !slices.Equal(servers, []string{rpcAddr}) {
			t.Fatalf("servers after reset %v, %v", servers, err)
		}
	})

	t.Run("DefaultConfigFromEnv", func(t *testing.T) {
		t.Setenv(api.AddressEnv, a.URL())
		t.Setenv(api.TokenEnv, "")
		cfg := api.DefaultConfig()
		if cfg.Address != a.URL() {
			t.Fatalf("DefaultConfig address %q, want %q", cfg.Address, a.URL())
		}
		for _, cfg := range []*api.Config{cfg, nil} { // nil means DefaultConfig()
			ec, err := api.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if ec.Address() != a.URL() {
				t.Fatalf("client address %q, want %q", ec.Address(), a.URL())
			}
			if leader, err := ec.Status().Leader(); err != nil || leader != rpcAddr {
				t.Fatalf("leader through NOMADLIKE_ADDR: %q, %v", leader, err)
			}
		}
		// A bare host:port is taken as http.
		u, _ := url.Parse(a.URL())
		t.Setenv(api.AddressEnv, u.Host)
		ec, err := api.NewClient(nil)
		if err != nil {
			t.Fatal(err)
		}
		if peers, err := ec.Status().Peers(); err != nil || len(peers) != 1 {
			t.Fatalf("peers through bare NOMADLIKE_ADDR: %v, %v", peers, err)
		}
	})
}

func TestIntegration_ThreeServers(t *testing.T) {
	first := agent.TestAgent(t, func(c *agent.Config) {
		c.Server.BootstrapExpect = ptr(3)
		c.Client.Enabled = ptr(false)
	})
	join := serfAddr(t, newClient(t, first))
	agents := []*agent.Agent{first}
	for i := 0; i < 2; i++ {
		agents = append(agents, agent.TestAgent(t, func(c *agent.Config) {
			c.Server.BootstrapExpect = ptr(3)
			c.Client.Enabled = ptr(false)
			c.Server.RetryJoin = []string{join}
		}))
	}
	var rpcAddrs, names []string
	for _, a := range agents {
		rpcAddrs = append(rpcAddrs, a.Server().RPCAddr())
		names = append(names, memberName(a))
	}
	slices.Sort(rpcAddrs)
	slices.Sort(names)
	for _, a := range agents {
		agent.WaitForAgentLeader(t, a)
	}

	// Every agent converges on 3 alive members, 3 peers and one leader
	// that all of them name.
	testutil.WaitForResult(t, 15*time.Second, func() error {
		leaders := map[string]bool{}
		for i, a := range agents {
			c := newClient(t, a)
			m, err := c.Agent().Members()
			if err != nil {
				return fmt.Errorf("agent %d members: %w", i, err)
			}
			var alive []string
			for _, mem := range m.Members {
				if mem.Status == "alive" {
					alive = append(alive, mem.Name)
				}
			}
			slices.Sort(alive)
			if !slices.Equal(alive, names) {
				return fmt.Errorf("agent %d: alive members %v, want %v", i, alive, names)
			}
			peers, err := c.Status().Peers()
			if err != nil {
				return fmt.Errorf("agent %d peers: %w", i, err)
			}
			slices.Sort(peers)
			if !slices.Equal(peers, rpcAddrs) {
				return fmt.Errorf("agent %d: peers %v, want %v", i, peers, rpcAddrs)
			}
			leader, err := c.Status().Leader()
			if err != nil || leader == "" {
				return fmt.Errorf("agent %d: leader %q, %v", i, leader, err)
			}
			leaders[leader] = true
		}
		if len(leaders) != 1 {
			return fmt.Errorf("agents name different leaders: %v", leaders)
		}
		return nil
	})

	leader, err := newClient(t, first).Status().Leader()
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range agents {
		c := newClient(t, a)
		for _, stale := range []bool{false, true} {
			cfg, err := c.Operator().RaftGetConfiguration(&api.QueryOptions{AllowStale: stale})
			if err != nil {
				t.Fatalf("agent %d stale=%v: %v", i, stale, err)
			}
			var leaders, voters int
			var addrs, nodes []string
			for _, s := range cfg.Servers {
				if s.Leader {
					leaders++
					if s.Address != leader {
						t.Fatalf("agent %d stale=%v: leader %s, status says %s", i, stale, s.Address, leader)
					}
				}
				if s.Voter {
					voters++
				}
				if s.ID == "" {
					t.Fatalf("agent %d stale=%v: server without ID %+v", i, stale, s)
				}
				addrs = append(addrs, s.Address)
				nodes = append(nodes, s.Node)
			}
			slices.Sort(addrs)
			slices.Sort(nodes)
			if leaders != 1 || voters != 3 || !slices.Equal(addrs, rpcAddrs) || !slices.Equal(nodes, names) {
				t.Fatalf("agent %d stale=%v: %d leaders, %d voters, addresses %v, nodes %v", i, stale, leaders, voters, addrs, nodes)
			}
		}

		self, err := c.Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		isLeader := a.Server().RPCAddr() == leader
		if self.Stats["nomad"]["leader"] != strconv.FormatBool(isLeader) || self.Stats["nomad"]["leader_addr"] != leader ||
			self.Stats["serf"]["members"] != "3" {
			t.Fatalf("agent %d self stats nomad=%v serf=%v", i, self.Stats["nomad"], self.Stats["serf"])
		}
		// On a server-only agent /v1/agent/servers lists the raft peers.
		servers, err := c.Agent().Servers()
		if err != nil || !slices.Equal(servers, rpcAddrs) {
			t.Fatalf("agent %d servers %v, %v; want %v", i, servers, err, rpcAddrs)
		}
		h, err := c.Agent().Health()
		if err != nil || h.Server == nil || !h.Server.Ok || h.Client != nil {
			t.Fatalf("agent %d health %+v, %v", i, h, err)
		}
		// Joining a member of the pool again is harmless.
		if n, err := c.Agent().Join(join); err != nil || n != 1 {
			t.Fatalf("agent %d re-join: %d, %v", i, n, err)
		}
	}

	// A client-only agent reaches the servers over the network: it
	// registers, answers the server endpoints by RPC and lists its servers.
	cl := agent.TestAgent(t, func(c *agent.Config) {
		c.Server.Enabled = ptr(false)
		c.Server.BootstrapExpect = ptr(0)
		c.Client.Servers = rpcAddrs
		c.Client.Meta = map[string]string{"env": "prod"}
	})
	agent.WaitForAgentLeader(t, cl) // health 200: the node registered
	cc := newClient(t, cl)
	h, err := cc.Agent().Health()
	if err != nil || h.Client == nil || !h.Client.Ok || h.Server != nil {
		t.Fatalf("client health %+v, %v", h, err)
	}
	servers, err := cc.Agent().Servers()
	if err != nil || !slices.Equal(servers, rpcAddrs) {
		t.Fatalf("client servers %v, %v; want %v", servers, err, rpcAddrs)
	}
	if l, err := cc.Status().Leader(); err != nil || l != leader {
		t.Fatalf("leader through the client: %q, %v; want %q", l, err, leader)
	}
	if m, err := cc.Agent().Members(); err != nil || len(m.Members) != 3 {
		t.Fatalf("members through the client: %+v, %v", m, err)
	}
	testutil.WaitForResult(t, 10*time.Second, func() error {
		for i, a := range agents {
			nodes, _, err := newClient(t, a).Nodes().List(nil)
			if err != nil {
				return err
			}
			if len(nodes) != 1 || nodes[0].ID != cl.Client().NodeID() || nodes[0].Status != api.NodeStatusReady || nodes[0].Meta["env"] != "prod" {
				return fmt.Errorf("agent %d lists nodes %v", i, nodes)
			}
		}
		return nil
	})
	self, err := cc.Agent().Self()
	if err != nil || self.Member.Name != "" || self.Stats["client"]["node_id"] != cl.Client().NodeID() {
		t.Fatalf("client self member %+v stats %v, %v", self.Member, self.Stats["client"], err)
	}
}

// TestIntegration_ACL drives the ACL client against a real agent with ACLs
// on: bootstrap, policies, tokens, self, and what a client token may do.
func TestIntegration_ACL(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) {
		c.ACL.Enabled = ptr(true)
		c.Client.Enabled = ptr(false)
	})
	agent.WaitForAgentLeader(t, a)
	c := newClient(t, a)

	boot, _, err := c.ACLBootstrap(nil)
	if err != nil || boot.Type != api.ACLManagementToken || boot.SecretID == "" || boot.Name != "Bootstrap Token" {
		t.Fatalf("bootstrap: %+v %v", boot, err)
	}
	_, _, err = c.ACLTokens().Bootstrap(nil)
	wantUnexpected(t, "second bootstrap", err, 400, "ACL bootstrap already done")
	c.SetToken(boot.SecretID)

	if _, err := c.ACLPolicies().Upsert(&api.ACLPolicy{Name: "readonly", Description: "reads", Rules: `node { policy = "read" }
operator { policy = "read" }`}, nil); err != nil {
		t.Fatal(err)
	}
	pols, _, err := c.ACLPolicies().List(nil)
	if err != nil || len(pols) != 1 || pols[0].Name != "readonly" || pols[0].Description != "reads" {
		t.Fatalf("policies %+v %v", pols, err)
	}
	pol, _, err := c.ACLPolicies().Info("readonly", nil)
	if err != nil || !strings.Contains(pol.Rules, "operator") || pol.CreateIndex == 0 {
		t.Fatalf("policy %+v %v", pol, err)
	}
	_, err = c.ACLPolicies().Upsert(&api.ACLPolicy{Name: "broken", Rules: `nope {}`}, nil)
	wantUnexpected(t, "invalid policy", err, 400, "nope")

	tok, _, err := c.ACLTokens().Create(&api.ACLToken{Name: "ops", Type: api.ACLClientToken, Policies: []string{"readonly"}, ExpirationTTL: time.Hour}, nil)
	if err != nil || tok.SecretID == "" || tok.AccessorID == "" || tok.ExpirationTime == nil {
		t.Fatalf("create token %+v %v", tok, err)
	}
	list, _, err := c.ACLTokens().List(nil)
	if err != nil || len(list) != 2 {
		t.Fatalf("tokens %+v %v", list, err)
	}
	info, _, err := c.ACLTokens().Info(tok.AccessorID, nil)
	if err != nil || info.Name != "ops" || info.SecretID != tok.SecretID {
		t.Fatalf("token info %+v %v", info, err)
	}
	tok.Name = "ops-renamed"
	upd, _, err := c.ACLTokens().Update(tok, nil)
	if err != nil || upd.Name != "ops-renamed" || upd.SecretID != tok.SecretID {
		t.Fatalf("update %+v %v", upd, err)
	}

	// The client token can read nodes and raft, not write or manage.
	ops := newClient(t, a)
	ops.SetToken(tok.SecretID)
	self, _, err := ops.ACLTokens().Self(nil)
	if err != nil || self.AccessorID != tok.AccessorID {
		t.Fatalf("self %+v %v", self, err)
	}
	if _, _, err := ops.Nodes().List(nil); err != nil {
		t.Fatalf("node:read token listing nodes: %v", err)
	}
	if _, err := ops.Operator().RaftGetConfiguration(nil); err != nil {
		t.Fatalf("operator:read token reading raft: %v", err)
	}
	_, err = ops.Agent().Self()
	wantUnexpected(t, "agent self without agent:read", err, 403, "Permission denied")
	err = ops.Operator().RaftRemovePeerByID("x", nil)
	wantUnexpected(t, "remove peer without operator:write", err, 403, "Permission denied")
	_, _, err = ops.ACLTokens().List(nil)
	wantUnexpected(t, "token list without management", err, 403, "Permission denied")

	if _, err := c.ACLTokens().Delete(tok.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = ops.Nodes().List(nil)
	wantUnexpected(t, "deleted token", err, 403, "ACL token not found")
	if _, err := c.ACLPolicies().Delete("readonly", nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ACLPolicies().Info("readonly", nil)
	wantUnexpected(t, "deleted policy", err, 404, "")
}
