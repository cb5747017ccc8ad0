package testcluster

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// call makes one HTTP request with an optional X-Nomad-Token and returns
// the status and body.
func call(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// followers returns the running servers other than the leader.
func (c *Cluster) followers(leader *Agent) []*Agent {
	var out []*Agent
	for _, s := range c.Running() {
		if s != leader {
			out = append(out, s)
		}
	}
	return out
}

// secretScan collects every secret minted in a test and, at the end, every
// body the agents gave out, then looks for the secrets in those bodies and
// in every agent's log.
type secretScan struct {
	secrets map[string]string // secret -> what it is
	bodies  map[string]string // where -> body
}

func newSecretScan() *secretScan {
	return &secretScan{secrets: map[string]string{}, bodies: map[string]string{}}
}

func (s *secretScan) secret(what string, tok *api.ACLToken) {
	if tok != nil && tok.SecretID != "" {
		s.secrets[tok.SecretID] = what
	}
}

func (s *secretScan) body(where, body string) { s.bodies[where] = body }

func (s *secretScan) check(t *testing.T, agents []*Agent) {
	t.Helper()
	if len(s.secrets) == 0 {
		t.Fatal("no secret collected: the scan would prove nothing")
	}
	for _, a := range agents {
		s.bodies["log of "+a.Name] = a.Log()
	}
	for secret, what := range s.secrets {
		for where, body := range s.bodies {
			if strings.Contains(body, secret) {
				t.Errorf("SecretID of %s found in %s", what, where)
			}
		}
	}
}

// TestCluster_ACLAcrossServers is the cluster acceptance: bootstrap
// on one server, policy and token through a follower, the token works on
// the third server within a second; deleted, it is refused everywhere.
// Client agents register only with a node:write token; bootstrap is once,
// unless the reset file names the last bootstrap index. Every secret minted
// is looked for in every log and every response body.
func TestCluster_ACLAcrossServers(t *testing.T) {
	// Debug logging, so that the scan covers every log line there is.
	c := New(t, Options{Servers: 3, Clients: 1, ACL: true,
		ServerArgs: append(serverArgs(t, ""), "-log-level", "debug"), ClientArgs: []string{"-log-level", "debug"}})
	scan := newSecretScan()
	scan.secret("bootstrap token", c.Management)
	scan.secret("client agent token", c.ClientToken)

	leader := c.WaitForLeader()
	fs := c.followers(leader)
	b, third := fs[0], fs[1]

	// Policy and token through follower B.
	if _, err := b.API().ACLPolicies().Upsert(&api.ACLPolicy{
		Name:  "node-reader",
		Rules: `node { policy = "read" }` + "\n" + `operator { policy = "read" }`,
	}, nil); err != nil {
		t.Fatal(err)
	}
	tok, _, err := b.API().ACLTokens().Create(&api.ACLToken{Name: "reader", Type: "client", Policies: []string{"node-reader"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now()
	scan.secret("reader token", tok)

	// The token works on the third server within one second.
	var worked time.Duration
	for {
		code, body := call(t, "GET", third.URL()+"/v1/nodes", tok.SecretID)
		if code == 200 {
			worked = time.Since(created)
			break
		}
		if time.Since(created) > time.Second {
			t.Fatalf("token not usable on %s after 1s: %d %s", third.Name, code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("token created on %s usable on %s after %v", b.Name, third.Name, worked)

	// It grants what its policy says and no more, on every agent.
	for _, a := range append(c.Running(), c.Clients...) {
		if code, body := call(t, "GET", a.URL()+"/v1/status/leader", tok.SecretID); code != 200 {
			t.Fatalf("%s operator:read: %d %s", a.Name, code, body)
		}
		code, body := call(t, "GET", a.URL()+"/v1/acl/tokens", tok.SecretID)
		if code != 403 || strings.TrimSpace(body) != "Permission denied" {
			t.Fatalf("%s acl tokens with a node:read token: %d %q", a.Name, code, body)
		}
		scan.body("denied body of "+a.Name, body)
		code, body = call(t, "PUT", a.URL()+"/v1/agent/force-leave?node=x", tok.SecretID)
		if code != 403 {
			t.Fatalf("%s force-leave with a node:read token: %d %q", a.Name, code, body)
		}
	}

	// The client agent registered with its node:write token.
	nodes, _, err := third.API().Nodes().List(nil)
	if err != nil || len(nodes) != 1 || nodes[0].Status != "ready" {
		t.Fatalf("nodes %v %v", nodes, err)
	}

	// Delete through the third server: refused by every server at once,
	// by the client-only agent once its cache (5 s) lets go.
	if _, err := third.API().ACLTokens().Delete(tok.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	for _, a := range append(c.Running(), c.Clients...) {
		limit := time.Second
		if !a.Server {
			limit = 7 * time.Second
		}
		testutil.WaitForResult(t, limit, func() error {
			code, body := call(t, "GET", a.URL()+"/v1/nodes", tok.SecretID)
			if code != 403 || strings.TrimSpace(body) != "ACL token not found" {
				return fmt.Errorf("%s after delete: %d %q", a.Name, code, body)
			}
			scan.body("not-found body of "+a.Name, body)
			return nil
		})
		t.Logf("%s refuses the deleted token %v after the delete", a.Name, time.Since(deleted).Round(time.Millisecond))
	}

	// A second bootstrap is refused with a clear 400, on any server.
	code, body := call(t, "POST", b.URL()+"/v1/acl/bootstrap", "")
	if code != 400 || !strings.Contains(body, "ACL bootstrap already done") {
		t.Fatalf("second bootstrap: %d %q", code, body)
	}
	m := regexp.MustCompile(`reset index: (\d+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("bootstrap refusal names no reset index: %q", body)
	}
	// The reset file in the data dir (of whichever server leads; all get
	// it so that a leader change does not matter) re-allows it once.
	for _, s := range c.Servers {
		if err := os.WriteFile(filepath.Join(s.DataDir, "server", "acl-bootstrap-reset"), []byte(m[1]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	again, _, err := b.API().ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("bootstrap with reset file: %v", err)
	}
	scan.secret("second bootstrap token", again)
	if code, body := call(t, "GET", third.URL()+"/v1/acl/tokens", again.SecretID); code != 200 {
		t.Fatalf("second bootstrap token: %d %s", code, body)
	}
	if code, body := call(t, "POST", third.URL()+"/v1/acl/bootstrap", ""); code != 400 {
		t.Fatalf("the reset file allowed a third bootstrap: %d %s", code, body)
	}

	// A client agent without a token never registers.
	bare := c.AddClient("client-without-token", nil, "-acl-enabled")
	// Refused twice: it tried, was told why, and tried again.
	testutil.WaitForResult(t, 30*time.Second, func() error {
		if n := bare.Grep("Permission denied"); n < 2 {
			return fmt.Errorf("%d refusals in the client's log", n)
		}
		return nil
	})
	if !bare.Running() {
		t.Fatal("the client without a token exited instead of retrying")
	}
	// Its log says what it needs, not only that it was refused.
	if bare.Grep("needs a token with node:write") == 0 {
		t.Fatalf("the tokenless client's log does not say what it needs:\n%s", bare.LogTail(20))
	}
	nodes, _, err = third.API().Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == bare.Name {
			t.Fatalf("client without a token registered: %+v", n)
		}
	}

	// Everything that could echo a secret, read with the management token.
	// (/v1/acl/token/self and a token read by accessor return the secret
	// on purpose, to a caller that holds it or a management token, as
	// Nomad's do; they are not echoes.)
	for _, a := range append(c.Running(), c.Clients...) {
		for _, path := range []string{"/v1/agent/self", "/v1/acl/tokens", "/v1/acl/policies", "/v1/agent/members", "/v1/agent/servers", "/v1/nodes", "/v1/agent/health"} {
			_, body := call(t, "GET", a.URL()+path, c.Management.SecretID)
			scan.body(a.Name+" "+path, body)
		}
	}
	scan.check(t, append(append([]*Agent{}, c.Servers...), c.Clients...))
}

// TestCluster_ACLSurvivesRestart: policies and tokens come back after every
// server is stopped and started again, with snapshots taken on the way.
func TestCluster_ACLSurvivesRestart(t *testing.T) {
	c := New(t, Options{Servers: 3, ACL: true, ServerArgs: serverArgs(t, `
server {
  raft_snapshot_threshold = 4
  raft_snapshot_interval  = "100ms"
}`)})
	a := c.Servers[1].API()
	var tokens []*api.ACLToken
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("policy-%d", i)
		if _, err := a.ACLPolicies().Upsert(&api.ACLPolicy{Name: name, Rules: `node { policy = "read" }`}, nil); err != nil {
			t.Fatal(err)
		}
		tok, _, err := a.ACLTokens().Create(&api.ACLToken{Name: name, Type: "client", Policies: []string{name}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	// The snapshots exist before the restart, so recovery reads them.
	testutil.WaitForResult(t, 30*time.Second, func() error {
		for _, s := range c.Servers {
			snaps, _ := filepath.Glob(filepath.Join(s.DataDir, "raft", "snapshots", "*", "state.bin"))
			if len(snaps) == 0 {
				return errors.New(s.Name + " has no snapshot yet")
			}
		}
		return nil
	})
	for _, s := range c.Servers {
		s.Stop()
	}
	for _, s := range c.Servers {
		s.Start()
	}
	c.WaitForLeader()
	for _, s := range c.Servers {
		for _, tok := range tokens {
			testutil.WaitForResult(t, 10*time.Second, func() error {
				if code, body := call(t, "GET", s.URL()+"/v1/nodes?stale", tok.SecretID); code != 200 {
					return fmt.Errorf("%s token %s after restart: %d %s", s.Name, tok.Name, code, body)
				}
				return nil
			})
		}
		pols, _, err := s.API().ACLPolicies().List(nil)
		if err != nil || len(pols) != 7 { // six plus the clients' policy
			t.Fatalf("%s policies after restart: %d %v", s.Name, len(pols), err)
		}
	}
	// Bootstrap stays done across the restart.
	if code, body := call(t, "POST", c.Servers[2].URL()+"/v1/acl/bootstrap", ""); code != 400 {
		t.Fatalf("bootstrap after restart: %d %s", code, body)
	}
}
