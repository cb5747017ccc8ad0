package client

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/structs"
)

func TestServerList_RotateAndLearn(t *testing.T) {
	l := newServerList([]string{"a:1", "b:1", "a:1", "c:1"})
	if got := l.all(); !reflect.DeepEqual(got, []string{"a:1", "b:1", "c:1"}) {
		t.Fatalf("dedup: %v", got)
	}
	l.demote("a:1")
	if got := l.all(); !reflect.DeepEqual(got, []string{"b:1", "c:1", "a:1"}) {
		t.Fatalf("demote: %v", got)
	}
	l.demote("zzz")
	l.learn([]string{"c:1", "d:1"})
	if got := l.all(); !reflect.DeepEqual(got, []string{"b:1", "c:1", "a:1", "d:1"}) {
		t.Fatalf("learn: %v", got)
	}
	l.set([]string{"x:1"})
	if got := l.all(); !reflect.DeepEqual(got, []string{"x:1"}) {
		t.Fatalf("set: %v", got)
	}
}

// fakeServer records calls and answers like a server.
type fakeServer struct {
	calls    chan string
	register structs.NodeRegisterRequest
	fail     error
}

func (f *fakeServer) RPC(method string, args, reply any) error {
	switch method {
	case "Node.GetAssignment":
		// A blocking query with nothing new: wait a little.
		if args.(*structs.NodeAssignmentRequest).MinQueryIndex > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		r := reply.(*structs.NodeAssignmentResponse)
		r.Assignment, r.Index = &structs.NodeAssignment{}, 1
		return nil
	case "Node.UpdateAssignmentApplied":
		return nil
	}
	f.calls <- method
	if f.fail != nil {
		return f.fail
	}
	if r, ok := args.(*structs.NodeRegisterRequest); ok {
		f.register = *r
	}
	reply.(*structs.NodeUpdateResponse).HeartbeatTTL = 50 * time.Millisecond
	return nil
}

func TestClient_IdentityPersistsAndHeartbeats(t *testing.T) {
	dir := t.TempDir()
	srv := &fakeServer{calls: make(chan string, 100)}
	cfg := &Config{DataDir: dir, NodeName: "n1", Datacenter: "dc1", Meta: map[string]string{"env": "prod"},
		RPCHandler: srv, Logger: hclog.NewNullLogger()}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Node.Register", "Node.UpdateStatus", "Node.UpdateStatus"}
	for _, w := range want {
		select {
		case m := <-srv.calls:
			if m != w {
				t.Fatalf("call %q, want %q", m, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s call", w)
		}
	}
	c.Shutdown()
	n := srv.register.Node
	if n.ID != c.NodeID() || n.SecretID == "" || n.Meta["env"] != "prod" || n.Attributes["collector.os"] == "" ||
		n.Attributes["collector.arch"] == "" || n.Attributes["hostname"] == "" {
		t.Fatalf("registered node %+v", n)
	}
	if !c.Registered() || c.Stats()["node_id"] != n.ID {
		t.Fatalf("stats %v", c.Stats())
	}

	// Same data dir, same identity.
	c2, err := NewClient(&Config{DataDir: dir, NodeName: "n1", Datacenter: "dc1", RPCHandler: srv, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Shutdown()
	if c2.NodeID() != c.NodeID() || c2.Node().SecretID != n.SecretID {
		t.Fatal("identity changed across restart")
	}
}

func TestClient_CorruptIdentityIsAnError(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "client"), 0o700)
	os.WriteFile(filepath.Join(dir, "client", "client-id"), []byte("not-a-uuid"), 0o600)
	_, err := NewClient(&Config{DataDir: dir, NodeName: "n", Datacenter: "dc1", RPCHandler: &fakeServer{calls: make(chan string, 1)}, Logger: hclog.NewNullLogger()})
	if err == nil {
		t.Fatal("corrupt node ID accepted")
	}
}

func TestClient_NoServers(t *testing.T) {
	c := &Client{servers: newServerList(nil), config: &Config{}}
	if err := c.RPC("Status.Ping", &structs.GenericRequest{}, &struct{}{}); err != structs.ErrNoServers {
		t.Fatalf("err %v", err)
	}
	if err := c.SetServers(nil); err == nil {
		t.Fatal("empty server list accepted")
	}
}
