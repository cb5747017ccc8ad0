package structs

import (
	"crypto/sha256"
	"net/http"
	"regexp"
	"time"
)

// ACL token types.
const (
	ACLClientToken     = "client"
	ACLManagementToken = "management"
)

// Messages Nomad answers ACL requests with.
var (
	ErrACLDisabled       = &CodedError{http.StatusBadRequest, "ACL support disabled"}
	ErrTokenExpired      = &CodedError{http.StatusForbidden, "ACL token expired"}
	ErrTokenInvalid      = &CodedError{http.StatusBadRequest, "invalid acl token"}
	ErrACLPolicyNotFound = &CodedError{http.StatusNotFound, "ACL policy not found"}
)

// validPolicyName is Nomad's rule for policy names.
var validPolicyName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// ACLPolicy is a named set of rules (HCL or JSON).
type ACLPolicy struct {
	Name        string
	Description string
	Rules       string
	// Hash of Name, Description and Rules, as Nomad's.
	Hash        []byte
	CreateIndex uint64
	ModifyIndex uint64
}

// Validate checks the policy's shape; rule syntax is checked by the acl
// package.
func (p *ACLPolicy) Validate() error {
	if !validPolicyName.MatchString(p.Name) {
		return NewErrCoded(http.StatusBadRequest, "invalid name %q: must be 1-128 letters, digits or dashes", p.Name)
	}
	if len(p.Description) > 256 {
		return NewErrCoded(http.StatusBadRequest, "description longer than 256 characters")
	}
	return nil
}

// SetHash computes the policy's hash.
func (p *ACLPolicy) SetHash() {
	h := sha256.New()
	h.Write([]byte(p.Name))
	h.Write([]byte{0})
	h.Write([]byte(p.Description))
	h.Write([]byte{0})
	h.Write([]byte(p.Rules))
	p.Hash = h.Sum(nil)
}

// Stub is the list form of a policy.
func (p *ACLPolicy) Stub() *ACLPolicyListStub {
	return &ACLPolicyListStub{Name: p.Name, Description: p.Description, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
}

// ACLPolicyListStub is a policy as /v1/acl/policies lists it.
type ACLPolicyListStub struct {
	Name        string
	Description string
	CreateIndex uint64
	ModifyIndex uint64
}

// ACLToken grants the union of its policies, or everything for a
// management token.
type ACLToken struct {
	AccessorID string
	SecretID   string
	Name       string
	Type       string
	Policies   []string
	Global     bool
	CreateTime time.Time
	// ExpirationTime is when the token stops working (nil: never).
	ExpirationTime *time.Time `json:",omitempty"`
	// ExpirationTTL is what the creator asked for; the server turns it
	// into ExpirationTime.
	ExpirationTTL time.Duration `json:",omitempty"`
	CreateIndex   uint64
	ModifyIndex   uint64
}

// IsExpired tells whether the token has expired at now.
func (t *ACLToken) IsExpired(now time.Time) bool {
	return t.ExpirationTime != nil && !now.Before(*t.ExpirationTime)
}

// IsManagement tells whether the token is a management token.
func (t *ACLToken) IsManagement() bool { return t.Type == ACLManagementToken }

// Stub is the list form of a token (no secret).
func (t *ACLToken) Stub() *ACLTokenListStub {
	return &ACLTokenListStub{
		AccessorID: t.AccessorID, Name: t.Name, Type: t.Type, Policies: t.Policies, Global: t.Global,
		CreateTime: t.CreateTime, ExpirationTime: t.ExpirationTime, CreateIndex: t.CreateIndex, ModifyIndex: t.ModifyIndex,
	}
}

// ACLTokenListStub is a token as /v1/acl/tokens lists it.
type ACLTokenListStub struct {
	AccessorID     string
	Name           string
	Type           string
	Policies       []string
	Global         bool
	CreateTime     time.Time
	ExpirationTime *time.Time `json:",omitempty"`
	CreateIndex    uint64
	ModifyIndex    uint64
}

// ACLPolicyUpsertRequest creates or replaces policies.
type ACLPolicyUpsertRequest struct {
	Policies []*ACLPolicy
	WriteRequest
}

// ACLPolicyDeleteRequest deletes policies by name.
type ACLPolicyDeleteRequest struct {
	Names []string
	WriteRequest
}

// ACLPolicySpecificRequest reads one policy.
type ACLPolicySpecificRequest struct {
	Name string
	QueryOptions
}

// SingleACLPolicyResponse returns one policy (nil if none).
type SingleACLPolicyResponse struct {
	Policy *ACLPolicy
	QueryMeta
}

// ACLPolicyListResponse lists policies.
type ACLPolicyListResponse struct {
	Policies []*ACLPolicyListStub
	QueryMeta
}

// ACLTokenUpsertRequest creates or updates tokens.
type ACLTokenUpsertRequest struct {
	Tokens []*ACLToken
	WriteRequest
}

// ACLTokenUpsertResponse returns the tokens as stored.
type ACLTokenUpsertResponse struct {
	Tokens []*ACLToken
	WriteMeta
}

// ACLTokenDeleteRequest deletes tokens by accessor.
type ACLTokenDeleteRequest struct {
	AccessorIDs []string
	WriteRequest
}

// ACLTokenSpecificRequest reads one token by accessor.
type ACLTokenSpecificRequest struct {
	AccessorID string
	QueryOptions
}

// SingleACLTokenResponse returns one token (nil if none).
type SingleACLTokenResponse struct {
	Token *ACLToken
	QueryMeta
}

// ACLTokenListResponse lists tokens.
type ACLTokenListResponse struct {
	Tokens []*ACLTokenListStub
	QueryMeta
}

// ACLTokenBootstrapRequest mints the first management token. ResetIndex
// is the bootstrap index an operator's reset file named (0: none).
type ACLTokenBootstrapRequest struct {
	Token      *ACLToken
	ResetIndex uint64
	// BootstrapSecret optionally chooses the secret.
	BootstrapSecret string
	WriteRequest
}

// ResolveACLTokenRequest asks a server for the token behind a secret
// (client agents use it to authorize their HTTP API).
type ResolveACLTokenRequest struct {
	SecretID string
	QueryOptions
}

// ResolveACLTokenResponse is the token and its policies.
type ResolveACLTokenResponse struct {
	Token    *ACLToken
	Policies []*ACLPolicy
	QueryMeta
}
