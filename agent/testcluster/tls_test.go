package testcluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// tlsCmd runs `nomadlike tls ...` in dir as an operator would.
func tlsCmd(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Binary(t), append([]string{"tls"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tlsHCL is a tls{} stanza with the given certificate.
func tlsHCL(dir, role string, verifyHTTPSClient bool) string {
	return fmt.Sprintf(`tls {
  http = true
  rpc  = true
  ca_file   = %q
  cert_file = %q
  key_file  = %q
  verify_server_hostname = true
  verify_https_client    = %t
}
`, filepath.Join(dir, "nomadlike-agent-ca.pem"),
		filepath.Join(dir, "global-"+role+"-nomadlike.pem"),
		filepath.Join(dir, "global-"+role+"-nomadlike-key.pem"), verifyHTTPSClient)
}

// waitForLogLine waits until one of agents logged s.
func waitForLogLine(t *testing.T, s string, agents ...*Agent) *Agent {
	t.Helper()
	var found *Agent
	testutil.WaitForResult(t, 60*time.Second, func() error {
		for _, a := range agents {
			if a.Grep(s) > 0 {
				found = a
				return nil
			}
		}
		return fmt.Errorf("no agent logged %q yet", s)
	})
	return found
}

// TestCluster_TLS is the acceptance test of TLS: certificates from the
// `nomadlike tls` commands, three servers and a client with
// tls { http = true rpc = true verify_server_hostname = true }. The cluster
// forms and the client registers over TLS; HTTPS works with the CA (Go,
// curl, the CLI), plain HTTP is refused; a server holding a client
// certificate never enters the raft configuration; a client without
// certificates never registers.
func TestCluster_TLS(t *testing.T) {
	certs := t.TempDir()
	for _, args := range [][]string{{"ca", "create"}, {"cert", "create", "-server"},
		{"cert", "create", "-client"}, {"cert", "create", "-cli"}} {
		if out, err := tlsCmd(t, certs, args...); err != nil {
			t.Fatalf("tls %v: %v\n%s", args, err, out)
		}
	}
	if out, err := tlsCmd(t, certs, "cert", "create", "-server"); err == nil || !strings.Contains(out, "refusing to overwrite") {
		t.Fatalf("second cert create: err %v, %s", err, out)
	}
	ca := filepath.Join(certs, "nomadlike-agent-ca.pem")
	cliCert, cliKey := filepath.Join(certs, "global-cli-nomadlike.pem"), filepath.Join(certs, "global-cli-nomadlike-key.pem")

	dir := t.TempDir()
	serverCfg := WriteConfig(t, dir, "server.hcl", tlsHCL(certs, "server", false))
	// The client agent's HTTP asks for client certificates, so the CLI's
	// -client-cert is exercised too.
	clientCfg := WriteConfig(t, dir, "client.hcl", tlsHCL(certs, "client", true))
	rogueCfg := WriteConfig(t, dir, "rogue.hcl", tlsHCL(certs, "client", false))

	c := &Cluster{t: t, Dir: dir}
	for i := 1; i <= 3; i++ {
		args := []string{"-bootstrap-expect", "3", "-retry-interval", "200ms", "-config", serverCfg}
		if i > 1 {
			args = append(args, "-retry-join", c.Servers[0].SerfAddr())
		}
		s := NewAgent(t, dir, fmt.Sprintf("server-%d", i), true, false, args...)
		s.TLS = &api.TLSConfig{CACert: ca}
		c.Servers = append(c.Servers, s)
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
	})
	for _, s := range c.Servers {
		s.Start()
	}
	leader := c.WaitForLeader()
	testutil.WaitForResult(t, 60*time.Second, func() error {
		cfg, err := leader.API().Operator().RaftGetConfiguration(nil)
		if err != nil {
			return err
		}
		if len(cfg.Servers) != 3 {
			return fmt.Errorf("%d servers in raft, want 3", len(cfg.Servers))
		}
		return nil
	})

	var addrs []string
	for _, s := range c.Servers {
		addrs = append(addrs, s.RPCAddr())
	}
	cl := NewAgent(t, dir, "client-1", false, true, "-servers", strings.Join(addrs, ","), "-config", clientCfg)
	cl.TLS = &api.TLSConfig{CACert: ca, ClientCert: cliCert, ClientKey: cliKey}
	c.Clients = append(c.Clients, cl)
	cl.Start()
	c.WaitForNodeStatus(cl.NodeID(), "ready")

	t.Run("https", func(t *testing.T) {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(ca)
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := hc.Get(leader.URL() + "/v1/status/leader")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), leader.RPCAddr()) {
			t.Fatalf("https status/leader: %d %s", resp.StatusCode, body)
		}
		self, err := leader.API().Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		if tc, _ := self.Config["TLSConfig"].(map[string]any); tc["EnableRPC"] != true || tc["VerifyServerHostname"] != true {
			t.Fatalf("agent self TLSConfig: %v", self.Config["TLSConfig"])
		}
		// Plain HTTP on the HTTPS port is refused.
		plain := strings.Replace(leader.URL(), "https://", "http://", 1)
		if resp, err := http.Get(plain + "/v1/status/leader"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
				t.Fatalf("plain http: %d %s", resp.StatusCode, body)
			}
		}
		// Without the CA the certificate is not trusted.
		if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(leader.URL() + "/v1/status/leader"); err == nil {
			t.Fatal("https without the CA was trusted")
		}
		// The client agent wants a client certificate.
		if _, err := hc.Get(cl.URL() + "/v1/agent/self"); err == nil {
			t.Fatal("client agent's https answered without a client certificate")
		}
	})

	t.Run("curl", func(t *testing.T) {
		curl, err := exec.LookPath("curl")
		if err != nil {
			t.Skip("curl not installed")
		}
		out, err := exec.Command(curl, "-sS", "--cacert", ca, leader.URL()+"/v1/status/leader").CombinedOutput()
		if err != nil || !strings.Contains(string(out), leader.RPCAddr()) {
			t.Fatalf("curl --cacert: %v %s", err, out)
		}
		out, err = exec.Command(curl, "-sS", "--cacert", ca, "--cert", cliCert, "--key", cliKey, cl.URL()+"/v1/agent/self").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "client-1") {
			t.Fatalf("curl with client cert: %v %.300s", err, out)
		}
		if out, err := exec.Command(curl, "-sS", leader.URL()+"/v1/status/leader").CombinedOutput(); err == nil {
			t.Fatalf("curl without the CA succeeded: %s", out)
		}
	})

	t.Run("cli", func(t *testing.T) {
		run := func(env []string, args ...string) (string, error) {
			cmd := exec.Command(Binary(t), args...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := run(nil, "server", "members", "-address", leader.URL(), "-ca-cert", ca)
		if err != nil || !strings.Contains(out, "server-1.global") {
			t.Fatalf("server members -ca-cert: %v\n%s", err, out)
		}
		if out, err := run(nil, "server", "members", "-address", leader.URL()); err == nil {
			t.Fatalf("server members without -ca-cert succeeded:\n%s", out)
		}
		// The client agent requires a client certificate (flags, then env).
		if out, err := run(nil, "node", "status", "-address", cl.URL(), "-ca-cert", ca); err == nil {
			t.Fatalf("node status without a client cert succeeded:\n%s", out)
		}
		out, err = run(nil, "node", "status", "-address", cl.URL(), "-ca-cert", ca, "-client-cert", cliCert, "-client-key", cliKey)
		if err != nil || !strings.Contains(out, "client-1") {
			t.Fatalf("node status with -client-cert: %v\n%s", err, out)
		}
		out, err = run([]string{"NOMADLIKE_ADDR=" + cl.URL(), "NOMADLIKE_CACERT=" + ca,
			"NOMADLIKE_CLIENT_CERT=" + cliCert, "NOMADLIKE_CLIENT_KEY=" + cliKey,
			"NOMADLIKE_TLS_SERVER_NAME=client.global.nomadlike"}, "node", "status")
		if err != nil || !strings.Contains(out, "client-1") {
			t.Fatalf("node status with env: %v\n%s", err, out)
		}
	})

	t.Run("client certificate cannot be a server", func(t *testing.T) {
		rogue := NewAgent(t, dir, "rogue", true, false, "-retry-interval", "200ms",
			"-retry-join", c.Servers[0].SerfAddr(), "-config", rogueCfg)
		rogue.TLS = &api.TLSConfig{CACert: ca}
		rogue.Start()
		defer rogue.Kill()
		// It gossips (so it is refused for its certificate, not for being
		// unreachable) ...
		testutil.WaitForResult(t, 60*time.Second, func() error {
			if !slices.Contains(aliveNames(t, leader), "rogue.global") {
				return errors.New("rogue not an alive gossip member yet")
			}
			return nil
		})
		// ... and never becomes a voter: checked until the leader has
		// logged its refusal, then until it has refused it again.
		inRaft := func() error {
			cfg, err := leader.API().Operator().RaftGetConfiguration(nil)
			if err != nil {
				return err
			}
			for _, srv := range cfg.Servers {
				if srv.Address == rogue.RPCAddr() || strings.HasPrefix(srv.Node, "rogue") {
					return fmt.Errorf("rogue server is in the raft configuration: %+v", *srv)
				}
			}
			if len(cfg.Servers) != 3 {
				return fmt.Errorf("raft configuration has %d servers", len(cfg.Servers))
			}
			return nil
		}
		testutil.WaitForResult(t, 60*time.Second, func() error {
			if err := inRaft(); err != nil {
				t.Fatal(err)
			}
			if leader.Grep("not adding server as raft voter") == 0 {
				return errors.New("the leader has not refused the rogue server yet")
			}
			return nil
		})
		if leader.Grep("server.global.nomadlike") == 0 {
			t.Fatal("the leader's refusal does not name the certificate it wanted")
		}
		// Restarted, it gossips again and the leader reconciles the pool
		// again: refused a second time, and still no voter.
		refusals := leader.Grep("not adding server as raft voter")
		rogue.Kill()
		rogue.Start()
		testutil.WaitForResult(t, 60*time.Second, func() error {
			if err := inRaft(); err != nil {
				t.Fatal(err)
			}
			if leader.Grep("not adding server as raft voter") == refusals {
				return errors.New("the leader has not refused the restarted rogue server yet")
			}
			return nil
		})
	})

	t.Run("leader killed and restarted", func(t *testing.T) {
		leader.Kill()
		next := c.WaitForLeader()
		if next == leader {
			t.Fatal("killed leader still leads")
		}
		c.WaitForNodeStatus(cl.NodeID(), "ready")
		leader.Start()
		testutil.WaitForResult(t, 60*time.Second, func() error {
			peers, err := leader.API().Status().Peers()
			if err != nil {
				return err
			}
			if l, err := leader.API().Status().Leader(); err != nil || l == "" {
				return fmt.Errorf("restarted server knows no leader: %q %v", l, err)
			}
			if len(peers) != 3 {
				return fmt.Errorf("peers %v", peers)
			}
			return nil
		})
		leader = c.WaitForLeader()
	})

	t.Run("client without certificates cannot register", func(t *testing.T) {
		bare := NewAgent(t, dir, "bare-client", false, true, "-servers", strings.Join(addrs, ","))
		bare.Start()
		defer bare.Kill()
		id := bare.NodeID()
		waitForLogLine(t, "non-TLS rpc connection refused", c.Servers...)
		waitForLogLine(t, "heartbeat failed", bare) // it tried, and failed
		if bare.Grep("node registered") > 0 {
			t.Fatal("client without certificates logged a registration")
		}
		nodes, _, err := leader.API().Nodes().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.ID == id {
				t.Fatalf("client without certificates registered: %+v", n)
			}
		}
	})
}
