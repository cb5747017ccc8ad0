package command

import (
	"strings"
	"testing"
)

func TestServerJoin(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"PUT /v1/agent/join": {200, `{"num_joined":2,"error":""}`}})
	r := runCommand(t, f, "server join", "10.0.0.2:4648", "10.0.0.3:4648")
	mustSucceed(t, r)
	if r.stdout != "Joined 2 servers successfully\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	got := f.find(t, "PUT", "/v1/agent/join").query["address"]
	if strings.Join(got, ",") != "10.0.0.2:4648,10.0.0.3:4648" {
		t.Fatalf("address params = %v", got)
	}

	r = runCommand(t, f, "server join", "-json", "10.0.0.2:4648")
	mustSucceed(t, r)
	if r.stdout != "{\n    \"num_joined\": 2\n}\n" {
		t.Fatalf("-json stdout = %q", r.stdout)
	}
}

func TestServerJoin_Failures(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"PUT /v1/agent/join": {200, `{"num_joined":0,"error":"dial tcp 10.0.0.9:4648: connection refused"}`},
	})
	r := runCommand(t, f, "server join", "10.0.0.9:4648")
	mustFail(t, r, "Error joining: failed joining: dial tcp 10.0.0.9:4648: connection refused")

	f = newFakeAgent(t, map[string]reply{"PUT /v1/agent/join": denied})
	r = runCommand(t, f, "server join", "10.0.0.9:4648")
	mustFail(t, r, "Error joining: failed joining: Unexpected response code: 403 (Permission denied)")

	r = runCommand(t, f, "server join")
	mustFail(t, r, "One or more server addresses are required")
	if len(f.requests()) != 1 {
		t.Fatalf("a usage error must not reach the agent: %+v", f.requests())
	}
}

func TestServerJoin_Warning(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"PUT /v1/agent/join": {200, `{"num_joined":1,"error":"","warning":"anonymous server join is deprecated"}`},
	})
	r := runCommand(t, f, "server join", "10.0.0.2:4648")
	if r.code != 0 || r.stdout != "Joined 1 servers successfully\n" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	if r.stderr != "Warning: anonymous server join is deprecated\n" {
		t.Fatalf("stderr = %q", r.stderr)
	}
}
