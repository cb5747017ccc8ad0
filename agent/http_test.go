package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// call does one HTTP request and returns status, headers and body.
func call(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func getJSON(t *testing.T, url string, out any) http.Header {
	t.Helper()
	code, h, body := call(t, http.MethodGet, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, body)
	}
	return h
}

func TestHTTP_AgentEndpoints(t *testing.T) {
	a := TestAgent(t, nil)
	WaitForAgentLeader(t, a)
	u := a.URL()

	var members structs.ServerMembersResponse
	getJSON(t, u+"/v1/agent/members", &members)
	if len(members.Members) != 1 || members.Members[0].Status != "alive" || members.ServerRegion != "global" ||
		members.Members[0].Tags["role"] != "nomad" || members.Members[0].Tags["port"] != strconv.Itoa(*a.config.Ports.RPC) {
		t.Fatalf("members %+v", members)
	}

	var self struct {
		Config map[string]any               `json:"config"`
		Member structs.ServerMember         `json:"member"`
		Stats  map[string]map[string]string `json:"stats"`
	}
	getJSON(t, u+"/v1/agent/self", &self)
	if self.Config["Region"] != "global" || self.Config["Datacenter"] != "dc1" || self.Member.Name != *a.config.NodeName+".global" {
		t.Fatalf("self config/member: %+v %+v", self.Config, self.Member)
	}
	// Unset, the raft log backend is automatic; self says which is in use.
	if ls, _ := self.Config["Server"].(map[string]any)["RaftLogStore"].(map[string]any); ls["Backend"] != "" || ls["InUse"] != "wal" {
		t.Fatalf("self raft log store: %+v", ls)
	}
	if self.Stats["raft"]["state"] != "Leader" || self.Stats["nomad"]["leader"] != "true" ||
		self.Stats["nomad"]["leader_addr"] != a.server.RPCAddr() || self.Stats["client"]["node_id"] != a.client.NodeID() ||
		self.Stats["runtime"]["goroutines"] == "" || self.Stats["serf"]["members"] != "1" {
		t.Fatalf("self stats: %+v", self.Stats)
	}

	var servers []string
	getJSON(t, u+"/v1/agent/servers", &servers)
	if len(servers) != 1 || servers[0] != a.server.RPCAddr() {
		t.Fatalf("servers %v", servers)
	}
	if code, _, body := call(t, http.MethodPut, u+"/v1/agent/servers"); code != 400 || string(body) != "missing server address" {
		t.Fatalf("servers without address: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPut, u+"/v1/agent/servers?address=nope"); code != 400 {
		t.Fatalf("servers bad address: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPost, u+"/v1/agent/servers?address=127.0.0.1:1&address="+a.server.RPCAddr()); code != 200 || len(body) != 0 {
		t.Fatalf("set servers: %d %s", code, body)
	}
	getJSON(t, u+"/v1/agent/servers", &servers)
	if len(servers) != 2 {
		t.Fatalf("servers after set %v", servers)
	}

	var join struct {
		NumJoined int    `json:"num_joined"`
		Error     string `json:"error"`
	}
	code, _, body := call(t, http.MethodPut, u+"/v1/agent/join?address=127.0.0.1:1")
	if code != 200 || json.Unmarshal(body, &join) != nil || join.NumJoined != 0 || join.Error == "" {
		t.Fatalf("join to nowhere: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPut, u+"/v1/agent/join"); code != 400 || string(body) != "missing address to join" {
		t.Fatalf("join without address: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPut, u+"/v1/agent/force-leave"); code != 400 || string(body) != "missing node to force leave" {
		t.Fatalf("force-leave without node: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPut, u+"/v1/agent/force-leave?node=x&prune=maybe"); code != 400 || string(body) != "invalid prune value" {
		t.Fatalf("force-leave bad prune: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodPut, u+"/v1/agent/force-leave?node=ghost"); code != 400 || !strings.Contains(string(body), "ghost") {
		t.Fatalf("force-leave unknown: %d %s", code, body)
	}

	var health map[string]map[string]any
	getJSON(t, u+"/v1/agent/health", &health)
	if health["server"]["ok"] != true || health["client"]["ok"] != true {
		t.Fatalf("health %v", health)
	}

	var leader string
	getJSON(t, u+"/v1/status/leader", &leader)
	if leader != a.server.RPCAddr() {
		t.Fatalf("leader %q", leader)
	}
	var peers []string
	getJSON(t, u+"/v1/status/peers", &peers)
	if len(peers) != 1 || peers[0] != leader {
		t.Fatalf("peers %v", peers)
	}
	var cfg structs.RaftConfigurationResponse
	getJSON(t, u+"/v1/operator/raft/configuration", &cfg)
	if len(cfg.Servers) != 1 || !cfg.Servers[0].Leader || !cfg.Servers[0].Voter || cfg.Servers[0].Node != *a.config.NodeName+".global" {
		t.Fatalf("raft configuration %+v", cfg.Servers[0])
	}
	if code, _, body := call(t, http.MethodDelete, u+"/v1/operator/raft/peer?id=nope"); code != 400 || !strings.Contains(string(body), "nope") {
		t.Fatalf("remove unknown peer: %d %s", code, body)
	}
	if code, _, body := call(t, http.MethodDelete, u+"/v1/operator/raft/peer"); code != 400 {
		t.Fatalf("remove peer without id: %d %s", code, body)
	}
}

func TestHTTP_CommonBehaviour(t *testing.T) {
	a := TestAgent(t, nil)
	WaitForAgentLeader(t, a)
	u := a.URL()

	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{http.MethodPost, "/v1/agent/members", 405, "Invalid method"},
		{http.MethodDelete, "/v1/agent/self", 405, "Invalid method"},
		{http.MethodGet, "/v1/agent/join", 405, "Invalid method"},
		{http.MethodPost, "/v1/status/leader", 405, "Invalid method"},
		{http.MethodPut, "/v1/nodes", 405, "Invalid method"},
		{http.MethodGet, "/v1/operator/raft/peer", 405, "Invalid method"},
		{http.MethodGet, "/v1/nope", 404, "Invalid URL path: /v1/nope"},
		{http.MethodGet, "/v1/node/does-not-exist", 404, "node not found"},
		{http.MethodGet, "/v1/nodes?stale=maybe", 400, "Expect `true` or `false` for `stale` query string parameter"},
		{http.MethodGet, "/v1/nodes?index=abc", 400, "Invalid index"},
		{http.MethodGet, "/v1/nodes?wait=forever", 400, "Invalid wait time"},
	} {
		code, h, body := call(t, tc.method, u+tc.path)
		if code != tc.code || string(body) != tc.body {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, code, body, tc.code, tc.body)
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no X-Request-Id", tc.method, tc.path)
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Errorf("%s %s: content type %q", tc.method, tc.path, h.Get("Content-Type"))
		}
	}

	// A caller's request ID is kept.
	req, _ := http.NewRequest(http.MethodGet, u+"/v1/status/leader", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatalf("request id %q", resp.Header.Get("X-Request-Id"))
	}

	// ?pretty indents.
	_, _, body := call(t, http.MethodGet, u+"/v1/agent/health?pretty")
	if !strings.Contains(string(body), "\n    ") {
		t.Fatalf("pretty body %q", body)
	}
}

func TestHTTP_NodesAndBlockingQuery(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Meta = map[string]string{"env": "prod"} })
	WaitForAgentLeader(t, a)
	u := a.URL()

	var nodes []*structs.NodeListStub
	var h http.Header
	testutil.WaitForResult(t, 10*time.Second, func() error {
		h = getJSON(t, u+"/v1/nodes", &nodes)
		if len(nodes) != 1 {
			return fmt.Errorf("%d nodes", len(nodes))
		}
		return nil
	})
	n := nodes[0]
	if n.ID != a.client.NodeID() || n.Status != "ready" || n.Meta["env"] != "prod" || n.Attributes["collector.os"] == "" ||
		n.Attributes["collector.arch"] == "" || n.Attributes["hostname"] == "" || n.CreateIndex == 0 {
		t.Fatalf("node stub %+v", n)
	}
	if h.Get("X-Nomad-Index") == "" || h.Get("X-Nomad-KnownLeader") != "true" {
		t.Fatalf("meta headers %v", h)
	}
	var node map[string]any
	getJSON(t, u+"/v1/node/"+n.ID, &node)
	if node["ID"] != n.ID || node["Name"] != *a.config.NodeName {
		t.Fatalf("node %v", node)
	}
	if _, ok := node["SecretID"]; ok {
		t.Fatal("node secret exposed")
	}
	getJSON(t, u+"/v1/nodes?prefix="+n.ID[:4], &nodes)
	if len(nodes) != 1 {
		t.Fatalf("prefix list %d", len(nodes))
	}
	getJSON(t, u+"/v1/nodes?prefix=zzzz", &nodes)
	if len(nodes) != 0 {
		t.Fatalf("bad prefix list %d", len(nodes))
	}

	// A blocking query returns after its wait when nothing changes, and
	// at once when something does.
	idx := h.Get("X-Nomad-Index")
	start := time.Now()
	getJSON(t, u+"/v1/nodes?index="+idx+"&wait=300ms", &nodes)
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("blocking query returned after %s", el)
	}
	done := make(chan http.Header, 1)
	blocking := a.server.BlockingQueries() // the agent's own client watches too
	go func() {
		var out []*structs.NodeListStub
		done <- getJSON(t, u+"/v1/nodes?index="+idx+"&wait=10s", &out)
	}()
	WaitForBlockingQueries(t, a, blocking+1)
	var resp structs.NodeUpdateResponse
	other := &structs.Node{ID: "5a3c2a0e-0000-4000-8000-000000000001", SecretID: "s", Name: "other", Datacenter: "dc1"}
	if err := a.RPC("Node.Register", &structs.NodeRegisterRequest{Node: other}, &resp); err != nil {
		t.Fatal(err)
	}
	select {
	case h2 := <-done:
		if h2.Get("X-Nomad-Index") == idx {
			t.Fatalf("index did not advance: %s", idx)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking query did not wake on change")
	}
}

func TestHTTP_ThreeServerCluster(t *testing.T) {
	first := TestAgent(t, func(c *Config) { c.Server.BootstrapExpect = ptr(3); c.Client.Enabled = ptr(false) })
	serf := first.advertise.serf
	agents := []*Agent{first}
	for i := 0; i < 2; i++ {
		agents = append(agents, TestAgent(t, func(c *Config) {
			c.Server.BootstrapExpect = ptr(3)
			c.Client.Enabled = ptr(false)
			c.Server.RetryJoin = []string{serf}
		}))
	}
	for _, a := range agents {
		WaitForAgentLeader(t, a)
	}
	var leader string
	for _, a := range agents {
		var l string
		getJSON(t, a.URL()+"/v1/status/leader", &l)
		if leader == "" {
			leader = l
		}
		if l != leader {
			t.Fatalf("leaders disagree: %s vs %s", l, leader)
		}
		testutil.WaitForResult(t, 10*time.Second, func() error {
			var peers []string
			getJSON(t, a.URL()+"/v1/status/peers", &peers)
			var members structs.ServerMembersResponse
			getJSON(t, a.URL()+"/v1/agent/members", &members)
			alive := 0
			for _, m := range members.Members {
				if m.Status == "alive" {
					alive++
				}
			}
			if len(peers) != 3 || alive != 3 {
				return fmt.Errorf("%d peers, %d alive members", len(peers), alive)
			}
			return nil
		})
	}
}

// TestReadBody_OneBuffer checks that a body with a Content-Length is read
// into one buffer of about its size, not one that doubled on the final
// read, and that the limit holds with or without a Content-Length.
func TestReadBody_OneBuffer(t *testing.T) {
	// 24,575 bytes and one more fill a size class exactly (24 KiB).
	body := strings.Repeat("x", 24_575)
	req, err := http.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, err := readBody(req, 1<<20)
	if err != nil || string(b) != body {
		t.Fatalf("readBody = %d bytes, %v", len(b), err)
	}
	if cap(b) >= 3*len(body)/2 {
		t.Fatalf("cap %d for a body of %d: the buffer grew past Content-Length", cap(b), len(body))
	}
	for _, cl := range []int64{int64(len(body)), -1} {
		req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.ContentLength = cl
		if _, err := readBody(req, 1000); err == nil {
			t.Fatalf("Content-Length %d over the limit: no error", cl)
		} else if code, _ := structs.ErrorStatus(err); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("Content-Length %d over the limit: %v", cl, err)
		}
	}
}
