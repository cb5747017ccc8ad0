package command

import "testing"

func TestServerForceLeave(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"PUT /v1/agent/force-leave": {200, ""}})
	r := runCommand(t, f, "server force-leave", "s2.global")
	mustSucceed(t, r)
	if r.stdout != "" {
		t.Fatalf("stdout = %q, want nothing", r.stdout)
	}
	req := f.find(t, "PUT", "/v1/agent/force-leave")
	if req.query.Get("node") != "s2.global" || req.query.Has("prune") {
		t.Fatalf("query = %v", req.query)
	}

	r = runCommand(t, f, "server force-leave", "-prune", "s3.global")
	mustSucceed(t, r)
	reqs := f.requests()
	last := reqs[len(reqs)-1]
	if last.query.Get("node") != "s3.global" || last.query.Get("prune") != "1" {
		t.Fatalf("query = %v", last.query)
	}
}

func TestServerForceLeave_Errors(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"PUT /v1/agent/force-leave": denied})
	r := runCommand(t, f, "server force-leave", "s2.global")
	mustFail(t, r, "Error force-leaving server s2.global: Unexpected response code: 403 (Permission denied)")

	r = runCommand(t, f, "server force-leave")
	mustFail(t, r, "This command takes one argument: <node>")
	r = runCommand(t, f, "server force-leave", "a", "b")
	mustFail(t, r, "This command takes one argument: <node>")
	if len(f.requests()) != 1 {
		t.Fatalf("usage errors must not reach the agent: %+v", f.requests())
	}
}
