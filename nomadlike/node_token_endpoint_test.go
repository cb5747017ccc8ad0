package nomadlike

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

func createToken(s *Server, name, token string) (*structs.NodeTokenCreateResponse, error) {
	args := &structs.NodeTokenCreateRequest{Name: name, NodeID: uuid.NewString(), SecretID: uuid.NewString()}
	args.AuthToken = token
	var out structs.NodeTokenCreateResponse
	err := s.RPC("Node.CreateToken", args, &out)
	return &out, err
}

// Through a follower, as an operator's request usually arrives: create,
// rotate, refuse a client node's name, refuse a bad name.
func TestNodeToken_CreateRotateConflict(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader := WaitForLeader(t, servers...)
	follower := servers[0]
	if follower == leader {
		follower = servers[1]
	}

	first, err := createToken(follower, "web-1", "")
	if err != nil || first.NodeID == "" || first.SecretID == "" || first.Name != "web-1" || first.Index == 0 {
		t.Fatalf("create: %+v %v", first, err)
	}
	var single structs.SingleNodeResponse
	if err := follower.RPC("Node.GetNode", &structs.NodeSpecificRequest{NodeID: first.NodeID}, &single); err != nil {
		t.Fatal(err)
	}
	n := single.Node
	if n == nil || !n.External || n.Status != structs.NodeStatusReady || n.Datacenter != "dc1" || n.SecretID != "" {
		t.Fatalf("node %+v", n)
	}
	if found, _ := leader.State().NodeBySecretID(nil, first.SecretID); found == nil || found.ID != first.NodeID {
		t.Fatalf("secret finds %+v", found)
	}

	// Again for the same name: same node, new secret, old one gone.
	second, err := createToken(follower, "web-1", "")
	if err != nil || second.NodeID != first.NodeID || second.SecretID == first.SecretID || second.Index <= first.Index {
		t.Fatalf("rotate: %+v %v (first %+v)", second, err, first)
	}
	if found, _ := leader.State().NodeBySecretID(nil, first.SecretID); found != nil {
		t.Fatal("the old secret still finds the node")
	}
	if named, _ := leader.State().NodesByName(nil, "web-1"); len(named) != 1 {
		t.Fatalf("%d nodes named web-1", len(named))
	}

	// A client node's name is a conflict.
	client := testNode()
	register(t, leader, client)
	_, err = createToken(follower, client.Name, "")
	if codeOf(err) != http.StatusConflict {
		t.Fatalf("client node's name: %v", err)
	}
	if named, _ := leader.State().NodesByName(nil, client.Name); len(named) != 1 || named[0].External {
		t.Fatalf("client name now %+v", named)
	}

	if _, err := createToken(follower, "", ""); codeOf(err) != http.StatusBadRequest {
		t.Fatalf("empty name: %v", err)
	}
	args := &structs.NodeTokenCreateRequest{Name: "web-2", NodeID: uuid.NewString()}
	if err := follower.RPC("Node.CreateToken", args, &structs.NodeTokenCreateResponse{}); codeOf(err) != http.StatusBadRequest {
		t.Fatalf("no secret: %v", err)
	}
}

// A request sent again with its IDs (a retry after a lost reply) mints
// one token: with its request ID it gets the first answer, and without
// one it finds the node already holding that secret.
func TestNodeToken_RetryIsIdempotent(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	args := structs.NodeTokenCreateRequest{Name: "web-1", NodeID: uuid.NewString(), SecretID: uuid.NewString()}
	args.RequestID = structs.NewRequestID()
	var first structs.NodeTokenCreateResponse
	a1 := args
	if err := s.RPC("Node.CreateToken", &a1, &first); err != nil {
		t.Fatal(err)
	}
	// The same request ID with other IDs (an HTTP retry with its
	// Idempotency-Key picks new ones) answers with the stored token.
	a2 := args
	a2.NodeID, a2.SecretID = uuid.NewString(), uuid.NewString()
	var again structs.NodeTokenCreateResponse
	if err := s.RPC("Node.CreateToken", &a2, &again); err != nil {
		t.Fatal(err)
	}
	if again.NodeID != first.NodeID || again.SecretID != args.SecretID {
		t.Fatalf("repeat answered %+v, first %+v", again, first)
	}
	// The same IDs under a fresh request ID write nothing.
	a3 := args
	a3.RequestID = ""
	var third structs.NodeTokenCreateResponse
	if err := s.RPC("Node.CreateToken", &a3, &third); err != nil {
		t.Fatal(err)
	}
	n, _ := s.State().NodeByID(nil, args.NodeID)
	if third.SecretID != args.SecretID || n == nil || n.SecretID != args.SecretID || n.ModifyIndex != first.Index {
		t.Fatalf("same IDs again: %+v, node %+v (first index %d)", third, n, first.Index)
	}
}

func TestNodeToken_NeedsNodeWrite(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) { c.ACLEnabled = true })
	WaitForLeader(t, s)
	var boot structs.ACLTokenUpsertResponse
	if err := s.RPC("ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); err != nil {
		t.Fatal(err)
	}
	mgmt := boot.Tokens[0].SecretID
	withRules := func(name, rules string) string {
		t.Helper()
		pol := &structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{{Name: name, Rules: rules}}}
		pol.AuthToken = mgmt
		if err := s.RPC("ACL.UpsertPolicies", pol, &structs.GenericResponse{}); err != nil {
			t.Fatal(err)
		}
		tok := &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{{Name: name, Type: structs.ACLClientToken, Policies: []string{name}}}}
		tok.AuthToken = mgmt
		var out structs.ACLTokenUpsertResponse
		if err := s.RPC("ACL.UpsertTokens", tok, &out); err != nil {
			t.Fatal(err)
		}
		return out.Tokens[0].SecretID
	}
	reader := withRules("reader", `node { policy = "read" }`)
	writer := withRules("writer", `node { policy = "write" }`)

	for name, tok := range map[string]string{"anonymous": "", "node:read": reader} {
		if _, err := createToken(s, "web-1", tok); !errors.Is(err, structs.ErrPermissionDenied) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if named, _ := s.State().NodesByName(nil, "web-1"); len(named) != 0 {
		t.Fatal("a refused request created a node")
	}
	if out, err := createToken(s, "web-1", writer); err != nil || out.SecretID == "" {
		t.Fatalf("node:write: %+v %v", out, err)
	}
}

// External nodes have no heartbeat timer, stay ready while a client node
// past its TTL goes down, and are never garbage-collected.
func TestNodeToken_ExternalNodeNeverGoesDown(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) {
		c.MinHeartbeatTTL = 100 * time.Millisecond
		c.HeartbeatGrace = 100 * time.Millisecond
		c.FailoverHeartbeatTTL = 100 * time.Millisecond
		c.NodeGCThreshold = time.Nanosecond
	})
	WaitForLeader(t, s)
	ext, err := createToken(s, "web-1", "")
	if err != nil {
		t.Fatal(err)
	}
	client := testNode()
	register(t, s, client)
	// What a new leader does: a timer for every live node but this one.
	s.heartbeats.initialize()
	s.heartbeats.mu.Lock()
	_, armed := s.heartbeats.timers[ext.NodeID]
	s.heartbeats.mu.Unlock()
	if armed {
		t.Fatal("a heartbeat timer for an external node")
	}
	// A heartbeat sent with the external node's secret arms a timer, whose
	// expiry must still leave it ready.
	var hb structs.NodeUpdateResponse
	if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: ext.NodeID, SecretID: ext.SecretID, Status: structs.NodeStatusReady}, &hb); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		if n, _ := s.State().NodeByID(nil, client.ID); n.Status != structs.NodeStatusDown {
			return fmt.Errorf("client status %s", n.Status)
		}
		s.heartbeats.mu.Lock()
		defer s.heartbeats.mu.Unlock()
		if _, ok := s.heartbeats.timers[ext.NodeID]; ok {
			return errors.New("external node's timer not fired yet")
		}
		return nil
	})
	if n, _ := s.State().NodeByID(nil, ext.NodeID); n.Status != structs.NodeStatusReady {
		t.Fatalf("external node %s past the TTL", n.Status)
	}

	// GC: an external node marked down (by hand) is not collected.
	if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: ext.NodeID, SecretID: ext.SecretID, Status: structs.NodeStatusDown}, &hb); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		// Down since this second; the cutoff is in whole seconds.
		if err := s.gcNodes(func() error { return nil }); err != nil {
			return err
		}
		if n, _ := s.State().NodeByID(nil, client.ID); n != nil {
			return errors.New("client node not collected yet")
		}
		return nil
	})
	if n, _ := s.State().NodeByID(nil, ext.NodeID); n == nil {
		t.Fatal("external node collected")
	}
}

// The config scheduler shards instance configs over client nodes only: an
// external node runs no nomadlike agent.
func TestNodeToken_ExternalNodeGetsNoConfigs(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	ext, err := createToken(s, "web-1", "")
	if err != nil {
		t.Fatal(err)
	}
	client := testNode()
	register(t, s, client)
	for i := range 10 {
		name := fmt.Sprintf("c%02d", i)
		if err := s.RPC("Config.Put", &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: name,
			Contents: fmt.Sprintf("scrape_configs:\n- job_name: j%d\n  static_configs:\n  - targets: ['127.0.0.1:1']\n", i)}},
			&structs.ConfigApplyResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		a, _ := s.State().AssignmentByNode(nil, client.ID)
		if a == nil || len(a.Configs) != 10 {
			return fmt.Errorf("client assignment %+v", a)
		}
		return nil
	})
	if a, _ := s.State().AssignmentByNode(nil, ext.NodeID); a != nil && len(a.Configs) != 0 {
		t.Fatalf("external node got configs %v", a.Configs)
	}
}
