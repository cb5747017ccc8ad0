package api

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	accessorID = "3c5a2e8b-1d7f-4b0e-9a61-5f2d8c4e7a10"
	secretID   = "b1f0c7d2-6a4e-4f3b-8c19-2e7d5a9f0b36"
)

// tokenJSON is a client token as the server encodes it, with ttl as the
// raw JSON value of ExpirationTTL.
func tokenJSON(ttl string) string {
	return `{"AccessorID":"` + accessorID + `","SecretID":"` + secretID + `","Name":"ci","Type":"client",
	 "Policies":["readonly","ops"],"Global":false,"CreateTime":"2026-03-01T10:00:00Z",
	 "ExpirationTime":"2026-03-01T11:00:00Z","ExpirationTTL":` + ttl + `,"Hash":"aGFzaA==",
	 "CreateIndex":7,"ModifyIndex":8}`
}

// mustDenied fails the test unless err is a 403 UnexpectedResponseError.
func mustDenied(t *testing.T, err error) {
	t.Helper()
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 403 || ure.Body() != "Permission denied" {
		t.Fatalf("err = %v, want 403 Permission denied", err)
	}
}

func TestACLPolicies_List(t *testing.T) {
	f, c := newFakeAgent(t, 200, `[{"Name":"readonly","Description":"Read only","CreateIndex":3,"ModifyIndex":4},
	 {"Name":"ops","Description":"","CreateIndex":5,"ModifyIndex":5}]`)
	f.headers["X-Nomad-Index"] = "5"
	ps, qm, err := c.ACLPolicies().List(&QueryOptions{Prefix: "r"})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	f.expect(t, "GET", "/v1/acl/policies", url.Values{"prefix": {"r"}})
	if qm.LastIndex != 5 || len(ps) != 2 {
		t.Fatalf("List = %v, %+v", ps, qm)
	}
	if p := ps[0]; p.Name != "readonly" || p.Description != "Read only" || p.CreateIndex != 3 || p.ModifyIndex != 4 {
		t.Fatalf("stub = %+v", p)
	}

	f.body = "null"
	if ps, _, err = c.ACLPolicies().List(nil); err != nil || ps == nil || len(ps) != 0 {
		t.Fatalf("List = %#v, %v; want empty non-nil", ps, err)
	}

	f.status, f.body = 403, "Permission denied"
	_, _, err = c.ACLPolicies().List(nil)
	mustDenied(t, err)
}

func TestACLPolicies_Info(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"Name":"readonly","Description":"Read only",
	 "Rules":"agent { policy = \"read\" }","Hash":"aGFzaA==","CreateIndex":3,"ModifyIndex":4}`)
	p, _, err := c.ACLPolicies().Info("readonly", nil)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	f.expect(t, "GET", "/v1/acl/policy/readonly", nil)
	if p.Name != "readonly" || p.Description != "Read only" || p.Rules != `agent { policy = "read" }` ||
		p.CreateIndex != 3 || p.ModifyIndex != 4 {
		t.Fatalf("policy = %+v", p)
	}

	f.body = "null"
	if _, _, err := c.ACLPolicies().Info("readonly", nil); err == nil {
		t.Fatalf("Info of a null answer should fail")
	}
	n := len(f.reqs)
	if _, _, err := c.ACLPolicies().Info("", nil); err == nil || len(f.reqs) != n {
		t.Fatalf("Info(\"\") = %v after %d requests; want a client-side error", err, len(f.reqs)-n)
	}

	f.status, f.body = 404, "ACL policy not found"
	_, _, err = c.ACLPolicies().Info("nope", nil)
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 404 {
		t.Fatalf("err = %v, want 404", err)
	}
}

func TestACLPolicies_Upsert(t *testing.T) {
	f, c := newFakeAgent(t, 200, "")
	f.headers["X-Nomad-Index"] = "12"
	p := &ACLPolicy{Name: "readonly", Description: "Read only", Rules: `agent { policy = "read" }`}
	wm, err := c.ACLPolicies().Upsert(p, nil)
	if err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	if wm.LastIndex != 12 {
		t.Fatalf("LastIndex = %d", wm.LastIndex)
	}
	r := f.expect(t, "PUT", "/v1/acl/policy/readonly", nil)
	var sent ACLPolicy
	if err := json.Unmarshal([]byte(r.Body), &sent); err != nil || sent != *p {
		t.Fatalf("body = %s (%v), want %+v", r.Body, err, p)
	}

	n := len(f.reqs)
	for _, bad := range []*ACLPolicy{nil, {Rules: "x"}} {
		if _, err := c.ACLPolicies().Upsert(bad, nil); err == nil {
			t.Fatalf("Upsert(%+v) should fail", bad)
		}
	}
	if len(f.reqs) != n {
		t.Fatalf("invalid upserts reached the server")
	}

	f.status, f.body = 403, "Permission denied"
	_, err = c.ACLPolicies().Upsert(p, &WriteOptions{AuthToken: "other"})
	mustDenied(t, err)
	if got := f.last(t).Header.Get("X-Nomad-Token"); got != "other" {
		t.Fatalf("X-Nomad-Token = %q, want the per-call token", got)
	}
}

func TestACLPolicies_Delete(t *testing.T) {
	f, c := newFakeAgent(t, 200, "")
	if _, err := c.ACLPolicies().Delete("readonly", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if r := f.expect(t, "DELETE", "/v1/acl/policy/readonly", nil); r.Body != "" {
		t.Fatalf("body = %q, want none", r.Body)
	}
	if _, err := c.ACLPolicies().Delete("", nil); err == nil || len(f.reqs) != 1 {
		t.Fatalf("Delete(\"\") = %v; want a client-side error", err)
	}
	f.status, f.body = 403, "Permission denied"
	_, err := c.ACLPolicies().Delete("readonly", nil)
	mustDenied(t, err)
}

func TestACLTokens_Bootstrap(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"AccessorID":"`+accessorID+`","SecretID":"`+secretID+`",
	 "Name":"Bootstrap Token","Type":"management","Policies":null,"Global":true,
	 "CreateTime":"2026-03-01T10:00:00Z","CreateIndex":2,"ModifyIndex":2}`)
	f.headers["X-Nomad-Index"] = "2"
	tok, wm, err := c.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if r := f.expect(t, "PUT", "/v1/acl/bootstrap", nil); r.Body != "" {
		t.Fatalf("body = %q, want none without a secret", r.Body)
	}
	if wm.LastIndex != 2 || tok.SecretID != secretID || tok.Type != ACLManagementToken || !tok.Global ||
		tok.Name != "Bootstrap Token" || tok.ExpirationTime != nil || tok.ExpirationTTL != 0 ||
		!tok.CreateTime.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("token = %+v, meta = %+v", tok, wm)
	}

	if _, _, err := c.ACLTokens().BootstrapOpts(secretID, nil); err != nil {
		t.Fatalf("BootstrapOpts: %v", err)
	}
	if r := f.expect(t, "PUT", "/v1/acl/bootstrap", nil); r.Body != `{"BootstrapSecret":"`+secretID+`"}` {
		t.Fatalf("body = %q", r.Body)
	}

	if tok, _, err = c.ACLBootstrap(nil); err != nil || tok.AccessorID != accessorID {
		t.Fatalf("ACLBootstrap = %+v, %v", tok, err)
	}

	f.status, f.body = 400, "ACL bootstrap already done (reset index: 2)"
	_, _, err = c.ACLBootstrap(nil)
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 400 || !strings.Contains(err.Error(), "already done") {
		t.Fatalf("err = %v, want 400", err)
	}
}

func TestACLTokens_List(t *testing.T) {
	f, c := newFakeAgent(t, 200, `[{"AccessorID":"`+accessorID+`","Name":"ci","Type":"client",
	 "Policies":["readonly"],"Global":false,"CreateTime":"2026-03-01T10:00:00Z",
	 "ExpirationTime":"2026-03-01T11:00:00Z","CreateIndex":7,"ModifyIndex":8}]`)
	ts, _, err := c.ACLTokens().List(nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	f.expect(t, "GET", "/v1/acl/tokens", nil)
	if len(ts) != 1 {
		t.Fatalf("List = %v", ts)
	}
	s := ts[0]
	if s.AccessorID != accessorID || s.Name != "ci" || s.Type != ACLClientToken || s.Global ||
		len(s.Policies) != 1 || s.ExpirationTime == nil ||
		!s.ExpirationTime.Equal(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)) || s.ModifyIndex != 8 {
		t.Fatalf("stub = %+v", s)
	}

	f.body = "[]"
	if ts, _, err = c.ACLTokens().List(nil); err != nil || ts == nil || len(ts) != 0 {
		t.Fatalf("List = %#v, %v; want empty non-nil", ts, err)
	}
	f.status, f.body = 403, "Permission denied"
	_, _, err = c.ACLTokens().List(nil)
	mustDenied(t, err)
}

func TestACLTokens_Create(t *testing.T) {
	f, c := newFakeAgent(t, 200, tokenJSON("3600000000000"))
	in := &ACLToken{Name: "ci", Type: ACLClientToken, Policies: []string{"readonly", "ops"}, ExpirationTTL: time.Hour}
	tok, _, err := c.ACLTokens().Create(in, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	r := f.expect(t, "PUT", "/v1/acl/token", nil)
	var sent map[string]any
	if err := json.Unmarshal([]byte(r.Body), &sent); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	// The TTL travels as an integer of nanoseconds; an unset expiry is left out.
	if sent["ExpirationTTL"] != float64(time.Hour) || sent["Name"] != "ci" || sent["Type"] != "client" {
		t.Fatalf("body = %s", r.Body)
	}
	if _, ok := sent["ExpirationTime"]; ok {
		t.Fatalf("body carries ExpirationTime: %s", r.Body)
	}
	if tok.AccessorID != accessorID || tok.SecretID != secretID || tok.ExpirationTTL != time.Hour ||
		strings.Join(tok.Policies, ",") != "readonly,ops" || tok.CreateIndex != 7 {
		t.Fatalf("token = %+v", tok)
	}

	n := len(f.reqs)
	if _, _, err := c.ACLTokens().Create(nil, nil); err == nil {
		t.Fatalf("Create(nil) should fail")
	}
	if _, _, err := c.ACLTokens().Create(&ACLToken{AccessorID: accessorID}, nil); err == nil {
		t.Fatalf("Create with an accessor ID should fail")
	}
	if len(f.reqs) != n {
		t.Fatalf("invalid creates reached the server")
	}

	f.status, f.body = 403, "Permission denied"
	_, _, err = c.ACLTokens().Create(&ACLToken{Type: "management"}, nil)
	mustDenied(t, err)
}

func TestACLTokens_Update(t *testing.T) {
	f, c := newFakeAgent(t, 200, tokenJSON("0"))
	tok, _, err := c.ACLTokens().Update(&ACLToken{AccessorID: accessorID, Name: "ci", Type: "client", Policies: []string{"ops"}}, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	r := f.expect(t, "PUT", "/v1/acl/token/"+accessorID, nil)
	if !strings.Contains(r.Body, `"AccessorID":"`+accessorID+`"`) || strings.Contains(r.Body, "ExpirationTTL") {
		t.Fatalf("body = %s", r.Body)
	}
	if tok.AccessorID != accessorID || tok.ExpirationTTL != 0 {
		t.Fatalf("token = %+v", tok)
	}
	if _, _, err := c.ACLTokens().Update(&ACLToken{Name: "x"}, nil); err == nil || len(f.reqs) != 1 {
		t.Fatalf("Update without accessor = %v; want a client-side error", err)
	}
}

func TestACLTokens_InfoAndSelf(t *testing.T) {
	f, c := newFakeAgent(t, 200, tokenJSON(`"1h"`))
	f.headers["X-Nomad-Index"] = "8"
	tok, qm, err := c.ACLTokens().Info(accessorID, &QueryOptions{AllowStale: true})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	f.expect(t, "GET", "/v1/acl/token/"+accessorID, url.Values{"stale": {""}})
	if qm.LastIndex != 8 || tok.SecretID != secretID || tok.ExpirationTTL != time.Hour ||
		!tok.ExpirationTime.Equal(time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("token = %+v, meta = %+v", tok, qm)
	}

	tok, _, err = c.ACLTokens().Self(&QueryOptions{AuthToken: secretID})
	if err != nil || tok.AccessorID != accessorID {
		t.Fatalf("Self = %+v, %v", tok, err)
	}
	r := f.last(t)
	if r.Method != "GET" || r.Path != "/v1/acl/token/self" || r.Header.Get("X-Nomad-Token") != secretID {
		t.Fatalf("request = %s %s token %q", r.Method, r.Path, r.Header.Get("X-Nomad-Token"))
	}

	n := len(f.reqs)
	if _, _, err := c.ACLTokens().Info("", nil); err == nil || len(f.reqs) != n {
		t.Fatalf("Info(\"\") = %v; want a client-side error", err)
	}

	f.status, f.body = 403, "Permission denied"
	_, _, err = c.ACLTokens().Self(nil)
	mustDenied(t, err)
}

func TestACLTokens_Delete(t *testing.T) {
	f, c := newFakeAgent(t, 200, "")
	f.headers["X-Nomad-Index"] = "20"
	wm, err := c.ACLTokens().Delete(accessorID, nil)
	if err != nil || wm.LastIndex != 20 {
		t.Fatalf("Delete = %+v, %v", wm, err)
	}
	f.expect(t, "DELETE", "/v1/acl/token/"+accessorID, nil)
	if _, err := c.ACLTokens().Delete("", nil); err == nil || len(f.reqs) != 1 {
		t.Fatalf("Delete(\"\") = %v; want a client-side error", err)
	}
	f.status, f.body = 403, "Permission denied"
	_, err = c.ACLTokens().Delete(accessorID, nil)
	mustDenied(t, err)
}

func TestACLToken_ExpirationTTLJSON(t *testing.T) {
	cases := map[string]struct {
		raw  string
		want time.Duration
		bad  bool
	}{
		"integer":  {raw: "3600000000000", want: time.Hour},
		"string":   {raw: `"1h30m"`, want: 90 * time.Minute},
		"exponent": {raw: "3.6e12", want: time.Hour},
		"empty":    {raw: `""`},
		"null":     {raw: "null"},
		"zero":     {raw: "0"},
		"garbage":  {raw: `"soon"`, bad: true},
		"bool":     {raw: "true", bad: true},
	}
	for name, tc := range cases {
		var tok ACLToken
		err := json.Unmarshal([]byte(tokenJSON(tc.raw)), &tok)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: decoded %v, want an error", name, tok.ExpirationTTL)
			}
			continue
		}
		if err != nil || tok.ExpirationTTL != tc.want || tok.SecretID != secretID || tok.CreateIndex != 7 {
			t.Errorf("%s: ttl = %v, token = %+v, err = %v; want ttl %v", name, tok.ExpirationTTL, tok, err, tc.want)
		}
	}

	// A field that is absent leaves no stale value behind.
	tok := ACLToken{ExpirationTTL: time.Minute}
	if err := json.Unmarshal([]byte(`{"Name":"x"}`), &tok); err != nil || tok.ExpirationTTL != 0 || tok.Name != "x" {
		t.Fatalf("token = %+v, %v", tok, err)
	}

	// Encoding round-trips through the integer form.
	b, err := json.Marshal(&ACLToken{Name: "x", ExpirationTTL: 2 * time.Minute})
	if err != nil || !strings.Contains(string(b), `"ExpirationTTL":120000000000`) {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back ACLToken
	if err := json.Unmarshal(b, &back); err != nil || back.ExpirationTTL != 2*time.Minute {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}
