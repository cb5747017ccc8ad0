package command

import (
	"testing"
)

const (
	testAccessor = "3c5a2e8b-1d7f-4b0e-9a61-5f2d8c4e7a10"
	testSecret   = "b1f0c7d2-6a4e-4f3b-8c19-2e7d5a9f0b36"
)

// The ACL tests use the shared fake agent, which records bodies too.
type (
	aclSeen = seen
	aclFake = fakeAgent
)

func newACLFake(t *testing.T, replies map[string]reply) *aclFake { return newFakeAgent(t, replies) }

// only returns the single request received, failing the test unless
// there was exactly one.
func (f *aclFake) only(t *testing.T) aclSeen {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// none fails the test if the fake received any request.
func (f *aclFake) none(t *testing.T) {
	t.Helper()
	if reqs := f.requests(); len(reqs) != 0 {
		t.Fatalf("usage errors must not reach the agent: %+v", reqs)
	}
}

// run runs the command registered under name against f.
func (f *aclFake) run(t *testing.T, name string, args ...string) result {
	t.Helper()
	return runCommand(t, nil, name, append([]string{"-address=" + f.srv.URL}, args...)...)
}

// tokenBody is a token as the server encodes it.
func tokenBody(typ, policies, expiry string) string {
	exp := ""
	if expiry != "" {
		exp = `"ExpirationTime":"` + expiry + `","ExpirationTTL":"1h",`
	}
	return `{"AccessorID":"` + testAccessor + `","SecretID":"` + testSecret + `","Name":"ci","Type":"` + typ + `",
	 "Policies":` + policies + `,"Global":false,"CreateTime":"2026-03-01T10:00:00Z",` + exp + `
	 "CreateIndex":7,"ModifyIndex":8}`
}

// clientTokenOutput is how tokenBody("client", `["readonly","ops"]`,
// "2026-03-01T11:00:00Z") prints.
const clientTokenOutput = `Accessor ID  = ` + testAccessor + `
Secret ID    = ` + testSecret + `
Name         = ci
Type         = client
Global       = false
Policies     = [readonly ops]
Create Time  = 2026-03-01 10:00:00 +0000 UTC
Expiry Time  = 2026-03-01 11:00:00 +0000 UTC
Create Index = 7
Modify Index = 8
`
