package testcluster

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
)

// goTool finds the go command for go tool pprof.
func goTool(t *testing.T) string {
	path := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	path, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return path
}

// pprofTop runs go tool pprof -top on a profile.
func pprofTop(t *testing.T, profile []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "profile")
	if err := os.WriteFile(path, profile, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool(t), "tool", "pprof", "-top", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "flat%") {
		t.Fatalf("go tool pprof -top: %v\n%s", err, out)
	}
	return string(out)
}

// waitForLog reads monitor frames until their data holds want.
func waitForLog(t *testing.T, frames <-chan *api.StreamFrame, errCh <-chan error, want string, poke func()) {
	t.Helper()
	var got bytes.Buffer
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(got.String(), want) {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatalf("stream ended: %v", <-errCh)
			}
			got.Write(f.Data)
		case <-tick.C:
			poke()
		case <-deadline:
			t.Fatalf("no %q in %q", want, got.String())
		}
	}
}

// The debug endpoints across real processes with ACLs on: three servers and
// a client that knows only the first server; every request is made through
// another agent than the one that answers, and the token travels with it.
func TestCluster_DebugEndpoints(t *testing.T) {
	c := New(t, Options{
		Servers: 3, Clients: 1, ACL: true, ServerArgs: serverArgs(t, ""),
		ClientServers: func(s []*Agent) []*Agent { return s[:1] },
		ClientArgs:    []string{"-log-level", "debug"},
	})
	leader := c.WaitForLeader()
	var follower, other *Agent
	for _, s := range c.Servers {
		if s != leader {
			if follower == nil {
				follower = s
			} else {
				other = s
			}
		}
	}
	client := c.Clients[0]
	nodeID := client.NodeID()
	mgmt := c.Servers[0].API()
	if _, err := mgmt.ACLPolicies().Upsert(&api.ACLPolicy{Name: "debug", Rules: `agent { policy = "write" }`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := mgmt.ACLPolicies().Upsert(&api.ACLPolicy{Name: "read", Rules: `agent { policy = "read" }`}, nil); err != nil {
		t.Fatal(err)
	}
	debugTok, _, err := mgmt.ACLTokens().Create(&api.ACLToken{Name: "debug", Type: "client", Policies: []string{"debug"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	readTok, _, err := mgmt.ACLTokens().Create(&api.ACLToken{Name: "read", Type: "client", Policies: []string{"read"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	as := func(a *Agent, secret string) *api.Agent {
		cl, err := api.NewClient(&api.Config{Address: a.URL(), Token: secret})
		if err != nil {
			t.Fatal(err)
		}
		return cl.Agent()
	}
	poke := func(a *Agent) func() { return func() { a.API().Agent().Health() } }

	// A CPU profile of the leader, through a follower, read by go tool pprof.
	prof, err := as(follower, debugTok.SecretID).CPUProfile(api.PprofOptions{Seconds: 1, ServerID: "leader"}, nil)
	if err != nil {
		t.Fatalf("cpu profile via follower: %v", err)
	}
	pprofTop(t, prof)
	// agent:read is not enough for profiles, wherever they are taken.
	for _, opts := range []api.PprofOptions{{}, {ServerID: "leader"}, {NodeID: nodeID}} {
		_, err := as(follower, readTok.SecretID).Lookup("goroutine", opts, nil)
		var ure api.UnexpectedResponseError
		if !errors.As(err, &ure) || ure.StatusCode() != 403 {
			t.Fatalf("profile %+v with agent:read: %v", opts, err)
		}
	}
	// The client's goroutines through a server that does not hold its
	// connection.
	text, err := as(other, debugTok.SecretID).Lookup("goroutine", api.PprofOptions{NodeID: nodeID, Debug: 1}, nil)
	if err != nil || !strings.Contains(string(text), "goroutine profile:") {
		t.Fatalf("client goroutines via %s: %v", other.Name, err)
	}

	// Host data of the node and of the leader, with agent:read.
	for _, from := range []*Agent{follower, other, client} {
		host, err := as(from, readTok.SecretID).Host("", nodeID, nil)
		if err != nil || host.AgentID != nodeID || host.HostData == nil {
			t.Fatalf("host of node via %s: %+v %v", from.Name, host, err)
		}
		host, err = as(from, readTok.SecretID).Host("leader", "", nil)
		if err != nil || host.AgentID != leader.Name+".global" {
			t.Fatalf("host of leader via %s: %+v %v", from.Name, host, err)
		}
	}

	// Logs of the leader through a follower, and of the client through
	// another server: each logs its HTTP requests at debug level.
	stop := make(chan struct{})
	defer close(stop)
	frames, errCh := as(follower, readTok.SecretID).Monitor(stop, &api.QueryOptions{Params: map[string]string{"server_id": "leader", "log_level": "debug"}})
	if frames == nil {
		t.Fatalf("monitor leader: %v", <-errCh)
	}
	waitForLog(t, frames, errCh, "path=/v1/agent/health", poke(leader))
	frames, errCh = as(other, readTok.SecretID).Monitor(stop, &api.QueryOptions{Params: map[string]string{"node_id": nodeID, "log_level": "debug"}})
	if frames == nil {
		t.Fatalf("monitor client: %v", <-errCh)
	}
	waitForLog(t, frames, errCh, "path=/v1/agent/health", poke(client))
	frames, errCh = as(follower, "").Monitor(stop, &api.QueryOptions{Params: map[string]string{"server_id": "leader"}})
	var ure api.UnexpectedResponseError
	if err := <-errCh; frames != nil || !errors.As(err, &ure) || ure.StatusCode() != 403 {
		t.Fatalf("monitor without token: %v", err)
	}

	// The CLI, as its own process: a goroutine profile of the leader to a
	// file, and the leader's logs until interrupted.
	out := filepath.Join(t.TempDir(), "goroutine")
	cmdOut, err := exec.Command(Binary(t), "operator", "pprof", "-address", follower.URL(), "-token", debugTok.SecretID,
		"-profile", "goroutine", "-server-id", "leader", "-output", out).CombinedOutput()
	if err != nil || !strings.Contains(string(cmdOut), "Wrote") {
		t.Fatalf("operator pprof: %v\n%s", err, cmdOut)
	}
	b, _ := os.ReadFile(out)
	pprofTop(t, b)

	mon := exec.Command(Binary(t), "monitor", "-address", follower.URL(), "-token", readTok.SecretID,
		"-server-id", "leader", "-log-level", "debug")
	stdout, _ := mon.StdoutPipe()
	mon.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer mon.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	found := false
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for !found {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("monitor command ended")
			}
			found = strings.Contains(l, "path=/v1/agent/health")
		case <-tick.C:
			poke(leader)()
		case <-deadline:
			t.Fatal("monitor command printed no health request")
		}
	}
	mon.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- mon.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("monitor command after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("monitor command did not stop on SIGINT")
	}
}
