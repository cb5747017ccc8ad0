package command

import (
	"encoding/json"
	"testing"

	"github.com/nomadlike/nomadlike/api"
)

const selfBody = `{"config":{"Region":"global","Datacenter":"dc1"},
 "member":{"Name":"s1.global","Addr":"127.0.0.1","Port":4648,"Status":"alive"},
 "stats":{
  "raft":{"state":"Leader","term":"2","applied_index":"144"},
  "nomad":{"server":"true","leader":"true","leader_addr":"127.0.0.1:4647","bootstrap":"false","known_regions":"1"},
  "runtime":{"arch":"amd64","goroutines":"79"}}}`

func TestAgentInfo(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/agent/self": {200, selfBody}})
	r := runCommand(t, f, "agent-info", "-token=tok")
	mustSucceed(t, r)
	want := `nomad
  bootstrap = false
  known_regions = 1
  leader = true
  leader_addr = 127.0.0.1:4647
  server = true
raft
  applied_index = 144
  state = Leader
  term = 2
runtime
  arch = amd64
  goroutines = 79
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := f.find(t, "GET", "/v1/agent/self").token; got != "tok" {
		t.Fatalf("token = %q", got)
	}
}

func TestAgentInfo_JSON(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/agent/self": {200, selfBody}})
	r := runCommand(t, f, "agent-info", "-json")
	mustSucceed(t, r)
	var got api.AgentSelf
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if got.Member.Name != "s1.global" || got.Config["Region"] != "global" || got.Stats["raft"]["term"] != "2" {
		t.Fatalf("decoded = %+v", got)
	}
}

func TestAgentInfo_Denied(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/agent/self": denied})
	r := runCommand(t, f, "agent-info")
	mustFail(t, r, "Error querying agent info: failed querying self endpoint: Unexpected response code: 403 (Permission denied)")
}
