package testcluster

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// keygen runs `nomadlike operator gossip keygen` as an operator would.
func keygen(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(Binary(t), "operator", "gossip", "keygen").Output()
	if err != nil {
		t.Fatalf("keygen: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// aliveNames lists the members a server sees alive.
func aliveNames(t *testing.T, a *Agent) []string {
	m, err := a.API().Agent().Members()
	if err != nil {
		t.Fatalf("members on %s: %v", a.Name, err)
	}
	var out []string
	for _, mem := range m.Members {
		if mem.Status == "alive" {
			out = append(out, mem.Name)
		}
	}
	return out
}

// TestCluster_GossipEncryption: two servers sharing a key from keygen form
// a cluster and report encryption on; a server with no key, and one with
// another key, never become alive members of that pool.
func TestCluster_GossipEncryption(t *testing.T) {
	key, other := keygen(t), keygen(t)
	if key == other || len(key) != 44 {
		t.Fatalf("keygen gave %q and %q", key, other)
	}
	dir := t.TempDir()
	args := []string{"-bootstrap-expect", "2", "-retry-interval", "200ms", "-encrypt", key}
	s1 := NewAgent(t, dir, "server-1", true, false, args...)
	s2 := NewAgent(t, dir, "server-2", true, false, append(args, "-retry-join", s1.SerfAddr())...)
	s1.Start()
	s2.Start()
	c := &Cluster{t: t, Dir: dir, Servers: []*Agent{s1, s2}}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
	})
	c.WaitForLeader()
	for _, s := range c.Servers {
		self, err := s.API().Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		if got := self.Stats["serf"]["encrypted"]; got != "true" {
			t.Fatalf("%s serf.encrypted = %q", s.Name, got)
		}
		if got := self.Config["Server"].(map[string]any)["EncryptKey"]; got == key {
			t.Fatalf("%s shows its gossip key in /v1/agent/self", s.Name)
		}
	}

	// Intruders: no key, and a different key. Both keep trying to join.
	noKey := NewAgent(t, dir, "no-key", true, false, "-retry-interval", "200ms", "-retry-join", s1.SerfAddr())
	wrongKey := NewAgent(t, dir, "wrong-key", true, false, "-retry-interval", "200ms", "-encrypt", other, "-retry-join", s1.SerfAddr())
	noKey.Start()
	wrongKey.Start()
	// Until each has been refused ten times, only the keyed pair is
	// alive, as each keyed server sees it.
	testutil.WaitForResult(t, 60*time.Second, func() error {
		for _, s := range c.Servers {
			if names := aliveNames(t, s); len(names) != 2 {
				t.Fatalf("%s sees alive %v; only the two keyed servers belong", s.Name, names)
			}
		}
		for _, in := range []*Agent{noKey, wrongKey} {
			if n := in.Grep("retry join failed"); n < 10 {
				return fmt.Errorf("%s tried to join %d times", in.Name, n)
			}
		}
		return nil
	})
	for _, in := range []*Agent{noKey, wrongKey} {
		testutil.WaitForResult(t, 5*time.Second, func() error {
			if names := aliveNames(t, in); len(names) != 1 || names[0] != in.Name+".global" {
				return fmt.Errorf("%s sees alive %v", in.Name, names)
			}
			return nil
		})
		if in.Grep("retry join succeeded") != 0 {
			t.Fatalf("%s reports a successful join:\n%s", in.Name, in.Log())
		}
	}
	// The keyed pair still works as a cluster.
	if peers, err := s2.API().Status().Peers(); err != nil || len(peers) != 2 {
		t.Fatalf("peers %v %v", peers, err)
	}
}
