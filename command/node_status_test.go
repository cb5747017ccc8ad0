package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/api"
)

const (
	nodeA = "f7476465-4d6e-c0de-26d0-e383c49be941"
	nodeB = "f7a1c2d3-0000-4000-8000-000000000002"
)

const nodesBody = `[
 {"ID":"` + nodeA + `","Name":"web-1","Datacenter":"dc1","Status":"ready","HTTPAddr":"10.0.0.5:4646","CreateIndex":5,"ModifyIndex":9},
 {"ID":"` + nodeB + `","Name":"web-2","Datacenter":"dc2","Status":"down","HTTPAddr":"10.0.0.6:4646","CreateIndex":6,"ModifyIndex":10}]`

const nodeABody = `{"ID":"` + nodeA + `","Name":"web-1","Datacenter":"dc1","HTTPAddr":"10.0.0.5:4646",
 "Status":"ready","StatusDescription":"node is ready","StatusUpdatedAt":1700000000,
 "Attributes":{"hostname":"web-1","collector.os":"linux","collector.arch":"amd64"},
 "Meta":{"rack":"r1"},"CreateIndex":5,"ModifyIndex":9}`

// nodesAgent answers the list with nodesBody, whatever the prefix; the
// command must filter by prefix itself as well.
func nodesAgent(t *testing.T) *fakeAgent {
	return newFakeAgent(t, map[string]reply{
		"GET /v1/nodes":          {200, nodesBody},
		"GET /v1/node/" + nodeA:  {200, nodeABody},
		"GET /v1/node/" + nodeB:  {200, `{"ID":"` + nodeB + `","Name":"web-2"}`},
		"GET /v1/node/forbidden": denied,
		"GET /v1/node/" + nodeA + "/assignment": {200, `{"NodeID":"` + nodeA + `","PipelineIDs":["3"],
 "Pipelines":[{"ID":"3","Name":"prod-metrics","Contents":"x"}],"Configs":["node"],
 "Hash":"0123456789abcdef0123","AppliedHash":"0123456789abcdef0123","Applied":true,"AppliedAt":"2026-11-23T17:00:00Z"}`},
		"GET /v1/node/" + nodeB + "/assignment": {200, `{"NodeID":"` + nodeB + `"}`},
	})
}

func TestNodeStatus_List(t *testing.T) {
	f := nodesAgent(t)
	r := runCommand(t, f, "node status")
	mustSucceed(t, r)
	want := `ID        DC   Name   Status
f7476465  dc1  web-1  ready
f7a1c2d3  dc2  web-2  down
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	r = runCommand(t, f, "node status", "-verbose")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, nodeA+"  dc1  web-1  ready") {
		t.Fatalf("-verbose should show full IDs:\n%s", r.stdout)
	}

	r = runCommand(t, f, "node status", "-json")
	mustSucceed(t, r)
	var got []*api.NodeListStub
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 || got[1].ID != nodeB {
		t.Fatalf("-json = %v, %v\n%s", got, err, r.stdout)
	}
}

func TestNodeStatus_Empty(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/nodes": {200, `[]`}})
	r := runCommand(t, f, "node status")
	mustSucceed(t, r)
	if r.stdout != "No nodes registered\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	r = runCommand(t, f, "node status", "-json")
	mustSucceed(t, r)
	if r.stdout != "[]\n" {
		t.Fatalf("-json stdout = %q, want []", r.stdout)
	}
}

func TestNodeStatus_Detail(t *testing.T) {
	f := nodesAgent(t)
	r := runCommand(t, f, "node status", "f74")
	mustSucceed(t, r)
	want := `ID                 = ` + nodeA + `
Name               = web-1
Datacenter         = dc1
Status             = ready
Status Description = node is ready
HTTP Addr          = 10.0.0.5:4646

Attributes
collector.arch = amd64
collector.os   = linux
hostname       = web-1

Meta
rack = r1

Assignment
Applied       = true
Assigned Hash = 0123456789ab
Applied Hash  = 0123456789ab
Applied At    = 2026-11-23T17:00:00Z

Assigned Pipelines
ID  Name
3   prod-metrics

Assigned Configs
node
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := f.find(t, "GET", "/v1/nodes").query.Get("prefix"); got != "f74" {
		t.Fatalf("prefix = %q, want f74", got)
	}
	f.find(t, "GET", "/v1/node/"+nodeA)

	r = runCommand(t, f, "node status", "-json", nodeA)
	mustSucceed(t, r)
	var got api.Node
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.ID != nodeA || got.Meta["rack"] != "r1" {
		t.Fatalf("-json = %+v, %v", got, err)
	}
}

func TestNodeStatus_PrefixErrors(t *testing.T) {
	f := nodesAgent(t)
	r := runCommand(t, f, "node status", "f7")
	mustFail(t, r, "Prefix matched multiple nodes")
	if !strings.Contains(r.stderr, "f7476465") || !strings.Contains(r.stderr, "f7a1c2d3") {
		t.Fatalf("stderr should list the matches: %q", r.stderr)
	}

	r = runCommand(t, f, "node status", "0000")
	mustFail(t, r, `No node(s) with prefix "0000" found`)

	r = runCommand(t, f, "node status", "a", "b")
	mustFail(t, r, "This command takes either no arguments or one")
}

func TestNodeStatus_Denied(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/nodes": denied})
	r := runCommand(t, f, "node status")
	mustFail(t, r, "Error querying node status: Unexpected response code: 403 (Permission denied)")

	r = runCommand(t, f, "node status", "f74")
	mustFail(t, r, "Error querying node info: Unexpected response code: 403 (Permission denied)")
}
