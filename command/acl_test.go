package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/api"
)

func TestACL_ParentCommandsPrintHelp(t *testing.T) {
	cases := map[string][]string{
		"acl":             {"bootstrap", "policy", "token"},
		"acl policy":      {"apply", "delete", "info", "list"},
		"acl token":       {"create", "delete", "info", "list", "self", "update"},
		"operator gossip": {"keygen"},
	}
	for parent, subs := range cases {
		code, _, _, _, errOut := runTop(strings.Fields(parent)...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", parent, code)
		}
		if !strings.Contains(errOut, "Usage: nomadlike "+parent) {
			t.Errorf("%s: help missing:\n%s", parent, errOut)
		}
		for _, sub := range subs {
			if !strings.Contains(errOut, "    "+sub) {
				t.Errorf("%s: subcommand %q not listed:\n%s", parent, sub, errOut)
			}
		}
	}
}

const bootstrapBody = `{"AccessorID":"` + testAccessor + `","SecretID":"` + testSecret + `",
 "Name":"Bootstrap Token","Type":"management","Policies":null,"Global":true,
 "CreateTime":"2026-03-01T10:00:00Z","CreateIndex":2,"ModifyIndex":2}`

func TestACLBootstrap(t *testing.T) {
	f := newACLFake(t, map[string]reply{"PUT /v1/acl/bootstrap": {200, bootstrapBody}})
	r := f.run(t, "acl bootstrap")
	mustSucceed(t, r)
	want := `Accessor ID  = ` + testAccessor + `
Secret ID    = ` + testSecret + `
Name         = Bootstrap Token
Type         = management
Global       = true
Policies     = n/a
Create Time  = 2026-03-01 10:00:00 +0000 UTC
Expiry Time  = <none>
Create Index = 2
Modify Index = 2
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if req := f.only(t); req.method != "PUT" || req.path != "/v1/acl/bootstrap" || req.body != "" || req.token != "" {
		t.Fatalf("request = %+v", req)
	}
}

func TestACLBootstrap_SecretAndJSON(t *testing.T) {
	f := newACLFake(t, map[string]reply{"PUT /v1/acl/bootstrap": {200, bootstrapBody}})
	r := f.run(t, "acl bootstrap", "-json", "-secret="+testSecret)
	mustSucceed(t, r)
	if req := f.only(t); req.body != `{"BootstrapSecret":"`+testSecret+`"}` {
		t.Fatalf("body = %q", req.body)
	}
	var got api.ACLToken
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if got.SecretID != testSecret || got.Type != "management" || !got.Global {
		t.Fatalf("decoded = %+v", got)
	}
}

func TestACLBootstrap_Errors(t *testing.T) {
	f := newACLFake(t, map[string]reply{"PUT /v1/acl/bootstrap": {400, "ACL bootstrap already done (reset index: 2)"}})
	r := f.run(t, "acl bootstrap")
	mustFail(t, r, "Error bootstrapping: Unexpected response code: 400 (ACL bootstrap already done (reset index: 2))")

	f = newACLFake(t, nil)
	mustFail(t, f.run(t, "acl bootstrap", "extra"), "This command takes no arguments")
	mustFail(t, f.run(t, "acl bootstrap", "-bogus"), "Error parsing arguments")
	f.none(t)
}
