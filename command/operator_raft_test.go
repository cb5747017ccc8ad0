package command

import (
	"encoding/json"
	"testing"

	"github.com/nomadlike/nomadlike/api"
)

const raftBody = `{"Servers":[
 {"ID":"9b1d6a2e-0000-0000-0000-000000000001","Node":"s1.global","Address":"127.0.0.1:4647","Leader":true,"Voter":true,"RaftProtocol":"3"},
 {"ID":"9b1d6a2e-0000-0000-0000-000000000002","Node":"s2.global","Address":"127.0.0.2:4647","Leader":false,"Voter":true,"RaftProtocol":"3"},
 {"ID":"9b1d6a2e-0000-0000-0000-000000000003","Node":"s3.global","Address":"127.0.0.3:4647","Leader":false,"Voter":false,"RaftProtocol":"3"}],
 "Index":12}`

func TestOperatorRaftListPeers(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/operator/raft/configuration": {200, raftBody}})
	r := runCommand(t, f, "operator raft list-peers")
	mustSucceed(t, r)
	want := `Node       ID                                    Address         State     Voter  RaftProtocol
s1.global  9b1d6a2e-0000-0000-0000-000000000001  127.0.0.1:4647  leader    true   3
s2.global  9b1d6a2e-0000-0000-0000-000000000002  127.0.0.2:4647  follower  true   3
s3.global  9b1d6a2e-0000-0000-0000-000000000003  127.0.0.3:4647  follower  false  3
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if f.find(t, "GET", "/v1/operator/raft/configuration").query.Has("stale") {
		t.Fatalf("stale sent without -stale")
	}

	r = runCommand(t, f, "operator raft list-peers", "-stale", "-json")
	mustSucceed(t, r)
	reqs := f.requests()
	if !reqs[len(reqs)-1].query.Has("stale") {
		t.Fatalf("-stale did not send ?stale")
	}
	var got api.RaftConfiguration
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if got.Index != 12 || len(got.Servers) != 3 || !got.Servers[0].Leader {
		t.Fatalf("decoded = %+v", got)
	}
}

func TestOperatorRaftListPeers_Denied(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/operator/raft/configuration": denied})
	r := runCommand(t, f, "operator raft list-peers")
	mustFail(t, r, "Error retrieving raft configuration: Unexpected response code: 403 (Permission denied)")
}

func TestOperatorRaftRemovePeer(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"DELETE /v1/operator/raft/peer": {200, ""}})
	r := runCommand(t, f, "operator raft remove-peer", "-token=mgmt", "-peer-id=id-3")
	mustSucceed(t, r)
	if r.stdout != "Removed peer with id \"id-3\"\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	req := f.find(t, "DELETE", "/v1/operator/raft/peer")
	if req.query.Get("id") != "id-3" || req.token != "mgmt" {
		t.Fatalf("request = %+v", req)
	}
}

func TestOperatorRaftRemovePeer_Errors(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"DELETE /v1/operator/raft/peer": denied})
	r := runCommand(t, f, "operator raft remove-peer", "-peer-id=id-3")
	mustFail(t, r, "Error removing peer: Unexpected response code: 403 (Permission denied)")

	r = runCommand(t, f, "operator raft remove-peer")
	mustFail(t, r, "Missing peer id: -peer-id is required")
	r = runCommand(t, f, "operator raft remove-peer", "id-3")
	mustFail(t, r, "This command takes no arguments")
	if len(f.requests()) != 1 {
		t.Fatalf("usage errors must not reach the agent: %+v", f.requests())
	}
}
