package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// ACL token types.
const (
	// ACLClientToken is the type of a token that grants the union of its
	// policies.
	ACLClientToken = "client"
	// ACLManagementToken is the type of a token that may do anything.
	ACLManagementToken = "management"
)

// ACLPolicies is the handle on the /v1/acl/policies and /v1/acl/policy
// endpoints.
type ACLPolicies struct {
	client *Client
}

// ACLPolicies returns the handle on the ACL policy endpoints.
func (c *Client) ACLPolicies() *ACLPolicies { return &ACLPolicies{client: c} }

// ACLPolicy is a named set of ACL rules.
type ACLPolicy struct {
	// Name identifies the policy: 1-128 letters, digits or dashes.
	Name string
	// Description is free text for operators.
	Description string
	// Rules is the policy body, in HCL or JSON.
	Rules string
	// CreateIndex is the Raft index that created the policy.
	CreateIndex uint64
	// ModifyIndex is the Raft index that last changed the policy.
	ModifyIndex uint64
}

// ACLPolicyListStub is the short form of a policy returned by List.
type ACLPolicyListStub struct {
	// Name identifies the policy.
	Name string
	// Description is free text for operators.
	Description string
	// CreateIndex is the Raft index that created the policy.
	CreateIndex uint64
	// ModifyIndex is the Raft index that last changed the policy.
	ModifyIndex uint64
}

// List returns every ACL policy (GET /v1/acl/policies). q.Prefix filters
// by name prefix. An empty result is an empty slice, never nil.
func (a *ACLPolicies) List(q *QueryOptions) ([]*ACLPolicyListStub, *QueryMeta, error) {
	var out []*ACLPolicyListStub
	qm, err := a.client.query("/v1/acl/policies", &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		out = []*ACLPolicyListStub{}
	}
	return out, qm, nil
}

// Info returns the policy called name (GET /v1/acl/policy/{name}).
func (a *ACLPolicies) Info(name string, q *QueryOptions) (*ACLPolicy, *QueryMeta, error) {
	if name == "" {
		return nil, nil, errors.New("ACL policy name must not be empty")
	}
	var out *ACLPolicy
	qm, err := a.client.query("/v1/acl/policy/"+url.PathEscape(name), &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		return nil, nil, errors.New("ACL policy not found")
	}
	return out, qm, nil
}

// Upsert creates or replaces the policy p.Name with p
// (PUT /v1/acl/policy/{name}). The server answers with no body.
func (a *ACLPolicies) Upsert(p *ACLPolicy, w *WriteOptions) (*WriteMeta, error) {
	if p == nil || p.Name == "" {
		return nil, errors.New("ACL policy name must not be empty")
	}
	return a.client.put("/v1/acl/policy/"+url.PathEscape(p.Name), p, nil, w)
}

// Delete deletes the policy called name (DELETE /v1/acl/policy/{name}).
func (a *ACLPolicies) Delete(name string, w *WriteOptions) (*WriteMeta, error) {
	if name == "" {
		return nil, errors.New("ACL policy name must not be empty")
	}
	return a.client.delete("/v1/acl/policy/"+url.PathEscape(name), nil, nil, w)
}

// ACLTokens is the handle on the /v1/acl/bootstrap, /v1/acl/tokens and
// /v1/acl/token endpoints.
type ACLTokens struct {
	client *Client
}

// ACLTokens returns the handle on the ACL token endpoints.
func (c *Client) ACLTokens() *ACLTokens { return &ACLTokens{client: c} }

// ACLBootstrap mints the first management token; it is
// ACLTokens().Bootstrap(w).
func (c *Client) ACLBootstrap(w *WriteOptions) (*ACLToken, *WriteMeta, error) {
	return c.ACLTokens().Bootstrap(w)
}

// ACLToken is an ACL token. SecretID is the credential, sent as
// X-Nomad-Token; AccessorID names the token without revealing it.
//
// On the wire ExpirationTTL is an integer of nanoseconds, as Go encodes a
// time.Duration. Decoding also accepts Nomad's duration string ("1h").
type ACLToken struct {
	// AccessorID is the public UUID of the token.
	AccessorID string
	// SecretID is the secret UUID of the token.
	SecretID string
	// Name is a human-readable name.
	Name string
	// Type is "client" or "management".
	Type string
	// Policies are the names of the policies a client token grants.
	Policies []string
	// Global is whether the token is replicated to every region.
	Global bool
	// CreateTime is when the token was created.
	CreateTime time.Time
	// ExpirationTime is when the token stops working; nil means never.
	ExpirationTime *time.Time `json:",omitempty"`
	// ExpirationTTL asks the server, on create, to set ExpirationTime to
	// CreateTime plus this duration. Zero means no expiry.
	ExpirationTTL time.Duration `json:",omitempty"`
	// CreateIndex is the Raft index that created the token.
	CreateIndex uint64
	// ModifyIndex is the Raft index that last changed the token.
	ModifyIndex uint64
}

// UnmarshalJSON decodes a token whose ExpirationTTL is either an integer
// of nanoseconds or a duration string such as "1h".
func (t *ACLToken) UnmarshalJSON(data []byte) error {
	type Alias ACLToken
	aux := struct {
		*Alias
		ExpirationTTL json.RawMessage
	}{Alias: (*Alias)(t)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	ttl, err := parseJSONDuration(aux.ExpirationTTL)
	if err != nil {
		return fmt.Errorf("decoding ExpirationTTL: %w", err)
	}
	t.ExpirationTTL = ttl
	return nil
}

// parseJSONDuration reads a duration given as JSON null, an integer of
// nanoseconds or a Go duration string. Absent, null and "" are zero.
func parseJSONDuration(raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return 0, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		if s == "" {
			return 0, nil
		}
		return time.ParseDuration(s)
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return time.Duration(n), nil
	}
	// A float such as 3.6e12, as some JSON encoders write large integers.
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, fmt.Errorf("%s is neither a number of nanoseconds nor a duration string", raw)
	}
	return time.Duration(f), nil
}

// ACLTokenListStub is the short form of a token returned by List; it has
// no SecretID.
type ACLTokenListStub struct {
	// AccessorID is the public UUID of the token.
	AccessorID string
	// Name is a human-readable name.
	Name string
	// Type is "client" or "management".
	Type string
	// Policies are the names of the policies a client token grants.
	Policies []string
	// Global is whether the token is replicated to every region.
	Global bool
	// CreateTime is when the token was created.
	CreateTime time.Time
	// ExpirationTime is when the token stops working; nil means never.
	ExpirationTime *time.Time `json:",omitempty"`
	// CreateIndex is the Raft index that created the token.
	CreateIndex uint64
	// ModifyIndex is the Raft index that last changed the token.
	ModifyIndex uint64
}

// bootstrapRequest is the optional body of a bootstrap.
type bootstrapRequest struct {
	// BootstrapSecret chooses the secret of the bootstrap token.
	BootstrapSecret string
}

// Bootstrap mints the first management token, with a secret chosen by the
// server (PUT /v1/acl/bootstrap). It works once per cluster.
func (a *ACLTokens) Bootstrap(w *WriteOptions) (*ACLToken, *WriteMeta, error) {
	return a.BootstrapOpts("", w)
}

// BootstrapOpts is Bootstrap with the secret chosen by the caller; secret
// must be a UUID. An empty secret lets the server choose and sends no
// body.
func (a *ACLTokens) BootstrapOpts(secret string, w *WriteOptions) (*ACLToken, *WriteMeta, error) {
	var in any
	if secret != "" {
		in = &bootstrapRequest{BootstrapSecret: secret}
	}
	var out ACLToken
	wm, err := a.client.put("/v1/acl/bootstrap", in, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// List returns every token, without secrets (GET /v1/acl/tokens). An
// empty result is an empty slice, never nil.
func (a *ACLTokens) List(q *QueryOptions) ([]*ACLTokenListStub, *QueryMeta, error) {
	var out []*ACLTokenListStub
	qm, err := a.client.query("/v1/acl/tokens", &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		out = []*ACLTokenListStub{}
	}
	return out, qm, nil
}

// Create creates token t (PUT /v1/acl/token) and returns it as stored,
// with its AccessorID and SecretID. t must not carry an AccessorID.
func (a *ACLTokens) Create(t *ACLToken, w *WriteOptions) (*ACLToken, *WriteMeta, error) {
	if t == nil {
		return nil, nil, errors.New("ACL token must not be nil")
	}
	if t.AccessorID != "" {
		return nil, nil, errors.New("cannot specify the accessor ID of a new ACL token")
	}
	var out ACLToken
	wm, err := a.client.put("/v1/acl/token", t, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// Update replaces the token t.AccessorID with t
// (PUT /v1/acl/token/{accessor}) and returns it as stored.
func (a *ACLTokens) Update(t *ACLToken, w *WriteOptions) (*ACLToken, *WriteMeta, error) {
	if t == nil || t.AccessorID == "" {
		return nil, nil, errors.New("ACL token accessor ID must not be empty")
	}
	var out ACLToken
	wm, err := a.client.put("/v1/acl/token/"+url.PathEscape(t.AccessorID), t, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// Info returns the token with accessorID (GET /v1/acl/token/{accessor}).
func (a *ACLTokens) Info(accessorID string, q *QueryOptions) (*ACLToken, *QueryMeta, error) {
	if accessorID == "" {
		return nil, nil, errors.New("ACL token accessor ID must not be empty")
	}
	return a.get("/v1/acl/token/"+url.PathEscape(accessorID), q)
}

// Self returns the token the request is made with
// (GET /v1/acl/token/self).
func (a *ACLTokens) Self(q *QueryOptions) (*ACLToken, *QueryMeta, error) {
	return a.get("/v1/acl/token/self", q)
}

// get reads one token from endpoint.
func (a *ACLTokens) get(endpoint string, q *QueryOptions) (*ACLToken, *QueryMeta, error) {
	var out *ACLToken
	qm, err := a.client.query(endpoint, &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		return nil, nil, errors.New("ACL token not found")
	}
	return out, qm, nil
}

// Delete deletes the token with accessorID
// (DELETE /v1/acl/token/{accessor}).
func (a *ACLTokens) Delete(accessorID string, w *WriteOptions) (*WriteMeta, error) {
	if accessorID == "" {
		return nil, errors.New("ACL token accessor ID must not be empty")
	}
	return a.client.delete("/v1/acl/token/"+url.PathEscape(accessorID), nil, nil, w)
}
