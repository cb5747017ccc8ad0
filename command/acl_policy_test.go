package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

const policyRules = `agent {
  policy = "read"
}
`

func TestACLPolicyApply_File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "readonly.hcl")
	if err := os.WriteFile(path, []byte(policyRules), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newACLFake(t, map[string]reply{"PUT /v1/acl/policy/readonly": {200, ""}})
	r := f.run(t, "acl policy apply", "-token=mgmt", "-description=Read only", "readonly", path)
	mustSucceed(t, r)
	if r.stdout != "Successfully wrote \"readonly\" ACL policy!\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	req := f.only(t)
	if req.method != "PUT" || req.token != "mgmt" {
		t.Fatalf("request = %+v", req)
	}
	var sent api.ACLPolicy
	if err := json.Unmarshal([]byte(req.body), &sent); err != nil {
		t.Fatalf("body %q: %v", req.body, err)
	}
	if sent.Name != "readonly" || sent.Description != "Read only" || sent.Rules != policyRules {
		t.Fatalf("sent = %+v", sent)
	}
}

func TestACLPolicyApply_Stdin(t *testing.T) {
	f := newACLFake(t, map[string]reply{"PUT /v1/acl/policy/ops": {200, ""}})
	t.Setenv("NOMADLIKE_TOKEN", "")
	ui := cli.NewMockUi()
	cmd := &ACLPolicyApplyCommand{Meta: Meta{Ui: ui}, stdin: strings.NewReader(policyRules)}
	if code := cmd.Run([]string{"-address=" + f.srv.URL, "ops", "-"}); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, ui.ErrorWriter.String())
	}
	var sent api.ACLPolicy
	if err := json.Unmarshal([]byte(f.only(t).body), &sent); err != nil || sent.Rules != policyRules || sent.Description != "" {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
}

func TestACLPolicyApply_Errors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.hcl")
	if err := os.WriteFile(path, []byte(policyRules), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newACLFake(t, map[string]reply{"PUT /v1/acl/policy/readonly": denied})
	mustFail(t, f.run(t, "acl policy apply", "readonly", path),
		"Error writing ACL policy: Unexpected response code: 403 (Permission denied)")

	f = newACLFake(t, nil)
	mustFail(t, f.run(t, "acl policy apply", "readonly"), "This command takes two arguments: <name> and <path>")
	mustFail(t, f.run(t, "acl policy apply", "a", "b", "c"), "This command takes two arguments")
	mustFail(t, f.run(t, "acl policy apply", "", path), "The policy name must not be empty")
	mustFail(t, f.run(t, "acl policy apply", "readonly", filepath.Join(t.TempDir(), "missing.hcl")),
		"Error reading policy rules:")
	f.none(t)
}

const policyListBody = `[{"Name":"readonly","Description":"Read only","CreateIndex":3,"ModifyIndex":4},
 {"Name":"ops","Description":"","CreateIndex":5,"ModifyIndex":5}]`

func TestACLPolicyList(t *testing.T) {
	f := newACLFake(t, map[string]reply{"GET /v1/acl/policies": {200, policyListBody}})
	r := f.run(t, "acl policy list", "-token=mgmt")
	mustSucceed(t, r)
	want := "Name      Description\nreadonly  Read only\nops\n"
	if r.stdout != want {
		t.Fatalf("stdout:\n%q\nwant:\n%q", r.stdout, want)
	}
	if req := f.only(t); req.token != "mgmt" {
		t.Fatalf("token = %q", req.token)
	}

	r = f.run(t, "acl policy list", "-json")
	mustSucceed(t, r)
	var got []api.ACLPolicyListStub
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 || got[0].ModifyIndex != 4 {
		t.Fatalf("decoded = %+v, %v\n%s", got, err, r.stdout)
	}

	f.replies["GET /v1/acl/policies"] = reply{200, "[]"}
	if r = f.run(t, "acl policy list"); r.stdout != "No policies found\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if r = f.run(t, "acl policy list", "-json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("-json of no policies = %q, want []", r.stdout)
	}
}

func TestACLPolicyList_Errors(t *testing.T) {
	f := newACLFake(t, map[string]reply{"GET /v1/acl/policies": denied})
	mustFail(t, f.run(t, "acl policy list"), "Error listing ACL policies: Unexpected response code: 403 (Permission denied)")
	mustFail(t, f.run(t, "acl policy list", "x"), "This command takes no arguments")
}

func TestACLPolicyInfo(t *testing.T) {
	body := `{"Name":"readonly","Description":"Read only","Rules":` + jsonString(policyRules) + `,"CreateIndex":3,"ModifyIndex":4}`
	f := newACLFake(t, map[string]reply{"GET /v1/acl/policy/readonly": {200, body}})
	r := f.run(t, "acl policy info", "readonly")
	mustSucceed(t, r)
	want := `Name        = readonly
Description = Read only
CreateIndex = 3
ModifyIndex = 4

Rules

agent {
  policy = "read"
}
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	r = f.run(t, "acl policy info", "-json", "readonly")
	mustSucceed(t, r)
	var got api.ACLPolicy
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Rules != policyRules {
		t.Fatalf("decoded = %+v, %v", got, err)
	}
}

func TestACLPolicyInfo_Errors(t *testing.T) {
	f := newACLFake(t, map[string]reply{
		"GET /v1/acl/policy/nope":   {404, "ACL policy not found"},
		"GET /v1/acl/policy/secret": denied,
	})
	mustFail(t, f.run(t, "acl policy info", "nope"), "Error fetching ACL policy: Unexpected response code: 404 (ACL policy not found)")
	mustFail(t, f.run(t, "acl policy info", "secret"), "Error fetching ACL policy: Unexpected response code: 403 (Permission denied)")
	n := len(f.requests())
	mustFail(t, f.run(t, "acl policy info"), "This command takes one argument: <name>")
	mustFail(t, f.run(t, "acl policy info", ""), "This command takes one argument: <name>")
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

func TestACLPolicyDelete(t *testing.T) {
	f := newACLFake(t, map[string]reply{"DELETE /v1/acl/policy/readonly": {200, ""}})
	r := f.run(t, "acl policy delete", "-token=mgmt", "readonly")
	mustSucceed(t, r)
	if r.stdout != "Successfully deleted \"readonly\" ACL policy!\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := f.only(t); req.method != "DELETE" || req.token != "mgmt" {
		t.Fatalf("request = %+v", req)
	}

	f = newACLFake(t, map[string]reply{"DELETE /v1/acl/policy/readonly": denied})
	mustFail(t, f.run(t, "acl policy delete", "readonly"), "Error deleting ACL policy: Unexpected response code: 403 (Permission denied)")
	mustFail(t, f.run(t, "acl policy delete"), "This command takes one argument: <name>")
	mustFail(t, f.run(t, "acl policy delete", "a", "b"), "This command takes one argument: <name>")
	if len(f.requests()) != 1 {
		t.Fatalf("usage errors reached the agent: %+v", f.requests())
	}
}

// jsonString encodes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
