package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/api"
)

const nodeTokenBody = `{"NodeID":"` + nodeA + `","Name":"web-1","SecretID":"5ec2e7aa-0000-4000-8000-000000000001","Index":12}`

func TestNodeTokenCreate(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"POST /v1/node/token": {200, nodeTokenBody}})
	r := runCommand(t, f, "node token create", "-name", "web-1")
	mustSucceed(t, r)
	want := `Node ID   = ` + nodeA + `
Name      = web-1
Secret ID = 5ec2e7aa-0000-4000-8000-000000000001

Push host metrics with:
  curl -H "Authorization: Bearer 5ec2e7aa-0000-4000-8000-000000000001" -d @payload.json $NOMADLIKE_ADDR/api/metrics/ingest
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(f.find(t, "POST", "/v1/node/token").body), &body); err != nil || body["Name"] != "web-1" || body["Datacenter"] != "" {
		t.Fatalf("request body %v %v", body, err)
	}

	r = runCommand(t, f, "node token create", "-name=web-1", "-datacenter=dc2", "-json")
	mustSucceed(t, r)
	var tok api.NodeToken
	if err := json.Unmarshal([]byte(r.stdout), &tok); err != nil || tok.NodeID != nodeA || tok.SecretID == "" {
		t.Fatalf("-json = %+v, %v\n%s", tok, err, r.stdout)
	}
	reqs := f.requests()
	if err := json.Unmarshal([]byte(reqs[len(reqs)-1].body), &body); err != nil || body["Datacenter"] != "dc2" {
		t.Fatalf("request body %v %v", body, err)
	}
}

func TestNodeTokenCreate_Errors(t *testing.T) {
	r := runCommand(t, nil, "node token create")
	if r.code != 1 || !strings.Contains(r.stderr, "Missing -name") {
		t.Fatalf("no name: exit %d, stderr %q", r.code, r.stderr)
	}
	f := newFakeAgent(t, map[string]reply{
		"POST /v1/node/token": {409, `node name "web-1" belongs to a client node`},
	})
	mustFail(t, runCommand(t, f, "node token create", "-name", "web-1"), "Error creating node token")
	f = newFakeAgent(t, map[string]reply{"POST /v1/node/token": denied})
	mustFail(t, runCommand(t, f, "node token create", "-name", "web-1"), "Permission denied")
}
