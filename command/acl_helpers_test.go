package command

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

const (
	testAccessor = "3c5a2e8b-1d7f-4b0e-9a61-5f2d8c4e7a10"
	testSecret   = "b1f0c7d2-6a4e-4f3b-8c19-2e7d5a9f0b36"
)

// aclSeen is one request the ACL fake received, body included.
type aclSeen struct {
	method, path, token, body string
}

// aclFake is a fake agent like fakeAgent that also records request
// bodies, which the ACL writes need checked.
type aclFake struct {
	srv *httptest.Server

	mu      sync.Mutex
	replies map[string]reply
	reqs    []aclSeen
}

// newACLFake starts a fake answering replies keyed by "METHOD /path".
func newACLFake(t *testing.T, replies map[string]reply) *aclFake {
	t.Helper()
	f := &aclFake{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, aclSeen{r.Method, r.URL.Path, r.Header.Get("X-Nomad-Token"), string(b)})
		rep, ok := f.replies[r.Method+" "+r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "no route", http.StatusNotFound)
			return
		}
		if rep.status != http.StatusOK {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(rep.status)
			io.WriteString(w, rep.body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// requests returns a copy of the requests received so far.
func (f *aclFake) requests() []aclSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]aclSeen(nil), f.reqs...)
}

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
