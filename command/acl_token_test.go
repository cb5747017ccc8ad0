package command

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
)

func TestACLTokenCreate(t *testing.T) {
	f := newACLFake(t, map[string]reply{
		"PUT /v1/acl/token":    {200, tokenBody("client", `["readonly","ops"]`, "2026-03-01T11:00:00Z")},
		"GET /v1/acl/policies": {200, `[{"Name":"readonly"},{"Name":"ops"}]`},
	})
	r := f.run(t, "acl token create", "-token=mgmt", "-name=ci", "-policy=readonly", "-policy=ops", "-ttl=1h")
	mustSucceed(t, r)
	if r.stdout != clientTokenOutput {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, clientTokenOutput)
	}
	req := f.find(t, "PUT", "/v1/acl/token")
	if req.token != "mgmt" {
		t.Fatalf("token = %q", req.token)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(req.body), &sent); err != nil {
		t.Fatalf("body %q: %v", req.body, err)
	}
	if sent["Name"] != "ci" || sent["Type"] != "client" || sent["Global"] != false ||
		sent["ExpirationTTL"] != float64(time.Hour) || sent["AccessorID"] != "" {
		t.Fatalf("body = %s", req.body)
	}
	if ps, _ := sent["Policies"].([]any); len(ps) != 2 || ps[0] != "readonly" || ps[1] != "ops" {
		t.Fatalf("policies = %v", sent["Policies"])
	}
}

// A policy that does not exist is named in a warning; the token is still
// created (a policy may come after its token).
func TestACLTokenCreate_WarnsOfMissingPolicy(t *testing.T) {
	f := newACLFake(t, map[string]reply{
		"PUT /v1/acl/token":    {200, tokenBody("client", `["readonly","ops"]`, "2026-03-01T11:00:00Z")},
		"GET /v1/acl/policies": {200, `[{"Name":"readonly"}]`},
	})
	r := f.run(t, "acl token create", "-policy=readonly", "-policy=ops")
	if r.code != 0 || !strings.Contains(r.stderr, `policy "ops" does not exist`) || strings.Contains(r.stderr, `"readonly"`) {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestACLTokenCreate_ManagementJSON(t *testing.T) {
	f := newACLFake(t, map[string]reply{"PUT /v1/acl/token": {200, tokenBody("management", "null", "")}})
	r := f.run(t, "acl token create", "-type=management", "-global", "-json")
	mustSucceed(t, r)
	var sent api.ACLToken
	if err := json.Unmarshal([]byte(f.only(t).body), &sent); err != nil || sent.Type != "management" ||
		!sent.Global || len(sent.Policies) != 0 || sent.ExpirationTTL != 0 {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
	var got api.ACLToken
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.SecretID != testSecret {
		t.Fatalf("decoded = %+v, %v\n%s", got, err, r.stdout)
	}
}

func TestACLTokenCreate_Errors(t *testing.T) {
	f := newACLFake(t, nil)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-type=root", "-policy=a"}, `Invalid token type "root": must be "client" or "management"`},
		{[]string{"-name=ci"}, "Client tokens require at least one policy"},
		{[]string{"-type=management", "-policy=a"}, "Management tokens cannot have policies"},
		{[]string{"-policy=a", "-ttl=soon"}, `Invalid -ttl "soon": must be a positive duration`},
		{[]string{"-policy=a", "-ttl=-1h"}, `Invalid -ttl "-1h": must be a positive duration`},
		{[]string{"-policy=a", "-ttl=0s"}, `Invalid -ttl "0s"`},
		{[]string{"-policy=a", "extra"}, "This command takes no arguments"},
	} {
		r := f.run(t, "acl token create", tc.args...)
		mustFail(t, r, tc.want)
		if !strings.Contains(r.stderr, "Usage: nomadlike acl token create") {
			t.Errorf("%v: usage missing from stderr %q", tc.args, r.stderr)
		}
	}
	f.none(t)

	f = newACLFake(t, map[string]reply{"PUT /v1/acl/token": denied})
	mustFail(t, f.run(t, "acl token create", "-policy=a"), "Error creating token: Unexpected response code: 403 (Permission denied)")
}

func TestACLTokenList(t *testing.T) {
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	body := `[{"AccessorID":"a-1","Name":"ci","Type":"client","Policies":["readonly"],"Global":false,
	  "CreateTime":"2026-03-01T10:00:00Z","ExpirationTime":"` + past + `","CreateIndex":7,"ModifyIndex":8},
	 {"AccessorID":"a-2","Name":"Bootstrap Token","Type":"management","Policies":null,"Global":true,
	  "CreateTime":"2026-03-01T10:00:00Z","CreateIndex":2,"ModifyIndex":2},
	 {"AccessorID":"a-3","Name":"deploy","Type":"client","Policies":["ops"],"Global":false,
	  "CreateTime":"2026-03-01T10:00:00Z","ExpirationTime":"` + future + `","CreateIndex":9,"ModifyIndex":9}]`
	f := newACLFake(t, map[string]reply{"GET /v1/acl/tokens": {200, body}})
	r := f.run(t, "acl token list", "-token=mgmt")
	mustSucceed(t, r)
	want := `Name             Type        Global  Accessor ID  Expired
ci               client      false   a-1          true
Bootstrap Token  management  true    a-2          false
deploy           client      false   a-3          false
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if req := f.only(t); req.method != "GET" || req.token != "mgmt" {
		t.Fatalf("request = %+v", req)
	}

	r = f.run(t, "acl token list", "-json")
	mustSucceed(t, r)
	var got []api.ACLTokenListStub
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 3 || got[1].ExpirationTime != nil {
		t.Fatalf("decoded = %+v, %v", got, err)
	}

	f.replies["GET /v1/acl/tokens"] = reply{200, "null"}
	if r = f.run(t, "acl token list"); r.stdout != "No tokens found\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
}

func TestACLTokenList_Errors(t *testing.T) {
	f := newACLFake(t, map[string]reply{"GET /v1/acl/tokens": denied})
	mustFail(t, f.run(t, "acl token list"), "Error listing ACL tokens: Unexpected response code: 403 (Permission denied)")
	mustFail(t, f.run(t, "acl token list", "x"), "This command takes no arguments")
}

func TestACLTokenInfo(t *testing.T) {
	f := newACLFake(t, map[string]reply{
		"GET /v1/acl/token/" + testAccessor: {200, tokenBody("client", `["readonly","ops"]`, "2026-03-01T11:00:00Z")},
	})
	r := f.run(t, "acl token info", "-token=mgmt", testAccessor)
	mustSucceed(t, r)
	if r.stdout != clientTokenOutput {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, clientTokenOutput)
	}
	if req := f.only(t); req.token != "mgmt" {
		t.Fatalf("token = %q", req.token)
	}

	r = f.run(t, "acl token info", "-json", testAccessor)
	mustSucceed(t, r)
	var got api.ACLToken
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.ExpirationTTL != time.Hour || got.ExpirationTime == nil {
		t.Fatalf("decoded = %+v, %v", got, err)
	}
}

func TestACLTokenInfo_Errors(t *testing.T) {
	f := newACLFake(t, map[string]reply{"GET /v1/acl/token/" + testAccessor: denied})
	mustFail(t, f.run(t, "acl token info", testAccessor), "Error fetching token: Unexpected response code: 403 (Permission denied)")
	mustFail(t, f.run(t, "acl token info"), "This command takes one argument: <accessor_id>")
	mustFail(t, f.run(t, "acl token info", ""), "This command takes one argument: <accessor_id>")
	if len(f.requests()) != 1 {
		t.Fatalf("usage errors reached the agent: %+v", f.requests())
	}
}

func TestACLTokenSelf(t *testing.T) {
	f := newACLFake(t, map[string]reply{"GET /v1/acl/token/self": {200, tokenBody("client", `["readonly","ops"]`, "2026-03-01T11:00:00Z")}})
	r := f.run(t, "acl token self", "-token="+testSecret)
	mustSucceed(t, r)
	if r.stdout != clientTokenOutput {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, clientTokenOutput)
	}
	if req := f.only(t); req.token != testSecret {
		t.Fatalf("X-Nomad-Token = %q, want the -token secret", req.token)
	}

	f = newACLFake(t, map[string]reply{"GET /v1/acl/token/self": denied})
	mustFail(t, f.run(t, "acl token self", "-token=unknown"), "Error fetching self token: Unexpected response code: 403 (Permission denied)")
	mustFail(t, f.run(t, "acl token self", "x"), "This command takes no arguments")
}

func TestACLTokenDelete(t *testing.T) {
	f := newACLFake(t, map[string]reply{"DELETE /v1/acl/token/" + testAccessor: {200, ""}})
	r := f.run(t, "acl token delete", "-token=mgmt", testAccessor)
	mustSucceed(t, r)
	if r.stdout != "Token "+testAccessor+" successfully deleted\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := f.only(t); req.method != "DELETE" || req.token != "mgmt" {
		t.Fatalf("request = %+v", req)
	}

	f = newACLFake(t, map[string]reply{"DELETE /v1/acl/token/" + testAccessor: denied})
	mustFail(t, f.run(t, "acl token delete", testAccessor), "Error deleting token: Unexpected response code: 403 (Permission denied)")
	mustFail(t, f.run(t, "acl token delete"), "This command takes one argument: <accessor_id>")
	if len(f.requests()) != 1 {
		t.Fatalf("usage errors reached the agent: %+v", f.requests())
	}
}

func TestACLTokenUpdate(t *testing.T) {
	path := "/v1/acl/token/" + testAccessor
	stored := strings.Replace(tokenBody("client", `["readonly"]`, "2026-03-01T11:00:00Z"), `"Global":false`, `"Global":true`, 1)
	f := newACLFake(t, map[string]reply{
		"GET " + path: {200, stored},
		"PUT " + path: {200, tokenBody("client", `["readonly","ops"]`, "2026-03-01T11:00:00Z")},
	})
	r := f.run(t, "acl token update", "-token=mgmt", "-name=deploy", "-policy=readonly", "-policy=ops", testAccessor)
	mustSucceed(t, r)
	if r.stdout != clientTokenOutput {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, clientTokenOutput)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].method != "GET" || reqs[1].method != "PUT" || reqs[1].token != "mgmt" {
		t.Fatalf("requests = %+v", reqs)
	}
	var sent api.ACLToken
	if err := json.Unmarshal([]byte(reqs[1].body), &sent); err != nil {
		t.Fatalf("body %q: %v", reqs[1].body, err)
	}
	// Changed: name and policies. Kept: accessor, secret, type, global
	// (not given) and expiry.
	if sent.AccessorID != testAccessor || sent.SecretID != testSecret || sent.Name != "deploy" || sent.Type != "client" ||
		!sent.Global || strings.Join(sent.Policies, ",") != "readonly,ops" || sent.ExpirationTime == nil {
		t.Fatalf("sent = %+v", sent)
	}
}

func TestACLTokenUpdate_ToManagement(t *testing.T) {
	path := "/v1/acl/token/" + testAccessor
	f := newACLFake(t, map[string]reply{
		"GET " + path: {200, tokenBody("client", `["readonly"]`, "")},
		"PUT " + path: {200, tokenBody("management", "null", "")},
	})
	r := f.run(t, "acl token update", "-type=management", "-global=false", "-json", testAccessor)
	mustSucceed(t, r)
	var sent api.ACLToken
	if err := json.Unmarshal([]byte(f.requests()[1].body), &sent); err != nil || sent.Type != "management" ||
		len(sent.Policies) != 0 || sent.Global {
		t.Fatalf("sent = %+v, %v", sent, err)
	}
	var got api.ACLToken
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Type != "management" {
		t.Fatalf("decoded = %+v, %v", got, err)
	}
}

func TestACLTokenUpdate_Errors(t *testing.T) {
	path := "/v1/acl/token/" + testAccessor
	f := newACLFake(t, nil)
	mustFail(t, f.run(t, "acl token update", testAccessor), "Nothing to update: give -name, -type, -policy or -global")
	mustFail(t, f.run(t, "acl token update", "-name=x"), "This command takes one argument: <accessor_id>")
	mustFail(t, f.run(t, "acl token update", "-type=root", testAccessor), `Invalid token type "root"`)
	f.none(t)

	// A stored management token cannot be given policies.
	f = newACLFake(t, map[string]reply{"GET " + path: {200, tokenBody("management", "null", "")}})
	mustFail(t, f.run(t, "acl token update", "-policy=ops", testAccessor), "Management tokens cannot have policies")
	if len(f.requests()) != 1 {
		t.Fatalf("a refused update reached the agent: %+v", f.requests())
	}

	f = newACLFake(t, map[string]reply{"GET " + path: denied})
	mustFail(t, f.run(t, "acl token update", "-name=x", testAccessor), "Error fetching token: Unexpected response code: 403 (Permission denied)")

	f = newACLFake(t, map[string]reply{"GET " + path: {200, tokenBody("client", `["a"]`, "")}, "PUT " + path: denied})
	mustFail(t, f.run(t, "acl token update", "-name=x", testAccessor), "Error updating token: Unexpected response code: 403 (Permission denied)")
}
