package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

const membersBody = `{"ServerName":"s1","ServerRegion":"global","ServerDC":"dc1","Members":[
 {"Name":"s2.global","Addr":"127.0.0.2","Port":4648,"Status":"alive","ProtocolCur":2,
  "Tags":{"role":"nomad","region":"global","dc":"dc1","build":"0.1.0-dev","port":"4647"}},
 {"Name":"s1.global","Addr":"127.0.0.1","Port":4648,"Status":"alive","ProtocolCur":2,
  "Tags":{"role":"nomad","region":"global","dc":"dc1","build":"0.1.0-dev","port":"4647"}},
 {"Name":"s3.global","Addr":"127.0.0.3","Port":4648,"Status":"failed","ProtocolCur":2,
  "Tags":{"region":"global","dc":"dc2","build":"0.1.0-dev","port":"4647"}}]}`

func membersAgent(t *testing.T) *fakeAgent {
	return newFakeAgent(t, map[string]reply{
		"GET /v1/agent/members": {200, membersBody},
		"GET /v1/status/leader": {200, `"127.0.0.1:4647"`},
	})
}

func TestServerMembers_Table(t *testing.T) {
	f := membersAgent(t)
	r := runCommand(t, f, "server members", "-token=tok")
	mustSucceed(t, r)
	want := `Name       Address    Port  Status  Leader  Build      Datacenter  Region
s1.global  127.0.0.1  4648  alive   true    0.1.0-dev  dc1         global
s2.global  127.0.0.2  4648  alive   false   0.1.0-dev  dc1         global
s3.global  127.0.0.3  4648  failed  false   0.1.0-dev  dc2         global
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if got := f.find(t, "GET", "/v1/agent/members").token; got != "tok" {
		t.Fatalf("token = %q, want tok", got)
	}
}

func TestServerMembers_Detailed(t *testing.T) {
	f := membersAgent(t)
	r := runCommand(t, f, "server members", "-detailed")
	mustSucceed(t, r)
	want := `Name       Address    Port  Status  Leader  Protocol  Tags
s1.global  127.0.0.1  4648  alive   true    2         build=0.1.0-dev,dc=dc1,port=4647,region=global,role=nomad
s2.global  127.0.0.2  4648  alive   false   2         build=0.1.0-dev,dc=dc1,port=4647,region=global,role=nomad
s3.global  127.0.0.3  4648  failed  false   2         build=0.1.0-dev,dc=dc2,port=4647,region=global
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

func TestServerMembers_JSON(t *testing.T) {
	f := membersAgent(t)
	r := runCommand(t, f, "server members", "-json")
	mustSucceed(t, r)
	var got api.ServerMembers
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if got.ServerName != "s1" || len(got.Members) != 3 || got.Members[0].Name != "s2.global" {
		t.Fatalf("decoded = %+v", got)
	}
	if r.stdout[:6] != "{\n    " {
		t.Fatalf("JSON is not indented by 4 spaces: %q", r.stdout[:10])
	}
}

func TestServerMembers_NoLeader(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"GET /v1/agent/members": {200, membersBody},
		"GET /v1/status/leader": {200, `""`},
	})
	r := runCommand(t, f, "server members")
	mustSucceed(t, r)
	if strings.Contains(r.stdout, "true") {
		t.Fatalf("no member should be leader:\n%s", r.stdout)
	}
}

func TestServerMembers_Errors(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /v1/agent/members": denied})
	r := runCommand(t, f, "server members")
	mustFail(t, r, "Error querying servers: Unexpected response code: 403 (Permission denied)")

	f = newFakeAgent(t, map[string]reply{
		"GET /v1/agent/members": {200, membersBody},
		"GET /v1/status/leader": {500, "No cluster leader"},
	})
	r = runCommand(t, f, "server members")
	mustFail(t, r, "Error determining leader: Unexpected response code: 500 (No cluster leader)")

	r = runCommand(t, f, "server members", "extra")
	mustFail(t, r, "This command takes no arguments")
	if !strings.Contains(r.stderr, "Usage: nomadlike server members") {
		t.Fatalf("usage error without help text: %q", r.stderr)
	}

	r = runCommand(t, f, "server members", "-bogus")
	mustFail(t, r, "flag provided but not defined: -bogus")
}

func TestServerMembers_EnvAddressAndToken(t *testing.T) {
	f := membersAgent(t)
	t.Setenv("NOMADLIKE_ADDR", f.srv.URL)
	t.Setenv("NOMADLIKE_TOKEN", "env-token")
	ui := cli.NewMockUi()
	cmd := &ServerMembersCommand{Meta: Meta{Ui: ui}}
	if code := cmd.Run(nil); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, ui.ErrorWriter.String())
	}
	if got := f.find(t, "GET", "/v1/agent/members").token; got != "env-token" {
		t.Fatalf("token = %q, want env-token", got)
	}

	// -token wins over the environment.
	cmd = &ServerMembersCommand{Meta: Meta{Ui: cli.NewMockUi()}}
	if code := cmd.Run([]string{"-token=flag-token"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	reqs := f.requests()
	if got := reqs[len(reqs)-1].token; got != "flag-token" {
		t.Fatalf("token = %q, want flag-token", got)
	}
}
