package agent

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/structs"
)

// maxJSONBodyBytes bounds the JSON bodies of the Nomad family.
const maxJSONBodyBytes = 1 << 20

// maxPolicyBodyBytes bounds a policy write: the rules' own bound, with
// room for JSON escaping and the other fields. A larger body is a 413
// before it is decoded.
const maxPolicyBodyBytes = 2*acl.MaxPolicyBytes + 4<<10

// decodeBody decodes a JSON request body into out; an empty body is
// allowed when optional. A body over maxJSONBodyBytes is a 413.
func decodeBody(req *http.Request, out any, optional bool) error {
	return decodeBodyLimit(req, out, optional, maxJSONBodyBytes)
}

// decodeBodyLimit is decodeBody with its own size bound; the body is
// refused whole (413) rather than cut short into a decode error.
func decodeBodyLimit(req *http.Request, out any, optional bool, limit int64) error {
	body, err := readBody(req, limit)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		if optional {
			return nil
		}
		return structs.NewErrCoded(http.StatusBadRequest, "Request body is empty")
	}
	if err := json.Unmarshal(body, out); err != nil {
		return structs.NewErrCoded(http.StatusBadRequest, "Request decode failed: %v", err)
	}
	return nil
}

// ACLBootstrapRequest mints the first management token.
func (s *HTTPServer) ACLBootstrapRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	var body struct{ BootstrapSecret string }
	if err := decodeBody(req, &body, true); err != nil {
		return nil, err
	}
	args := structs.ACLTokenBootstrapRequest{BootstrapSecret: body.BootstrapSecret}
	s.parseWriteRequest(req, &args.WriteRequest)
	var out structs.ACLTokenUpsertResponse
	if err := s.agent.RPC("ACL.Bootstrap", &args, &out); err != nil {
		return nil, err
	}
	setIndex(resp, out.Index)
	return out.Tokens[0], nil
}

// ACLPoliciesRequest lists policies.
func (s *HTTPServer) ACLPoliciesRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var args structs.GenericRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ACLPolicyListResponse
	if err := s.agent.RPC("ACL.ListPolicies", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	return out.Policies, nil
}

// ACLPolicySpecificRequest reads, writes or deletes one policy.
func (s *HTTPServer) ACLPolicySpecificRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	name := req.PathValue("name")
	switch req.Method {
	case http.MethodGet:
		args := structs.ACLPolicySpecificRequest{Name: name}
		if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
			return nil, err
		}
		var out structs.SingleACLPolicyResponse
		if err := s.agent.RPC("ACL.GetPolicy", &args, &out); err != nil {
			return nil, err
		}
		setMeta(resp, &out.QueryMeta)
		if out.Policy == nil {
			return nil, structs.ErrACLPolicyNotFound
		}
		return out.Policy, nil
	case http.MethodPut, http.MethodPost:
		var p structs.ACLPolicy
		if err := decodeBodyLimit(req, &p, false, maxPolicyBodyBytes); err != nil {
			return nil, err
		}
		if p.Name != "" && p.Name != name {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "Policy name does not match request path")
		}
		p.Name = name
		args := structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{&p}}
		s.parseWriteRequest(req, &args.WriteRequest)
		var out structs.GenericResponse
		if err := s.agent.RPC("ACL.UpsertPolicies", &args, &out); err != nil {
			return nil, err
		}
		setIndex(resp, out.Index)
		return nil, nil
	case http.MethodDelete:
		args := structs.ACLPolicyDeleteRequest{Names: []string{name}}
		s.parseWriteRequest(req, &args.WriteRequest)
		var out structs.GenericResponse
		if err := s.agent.RPC("ACL.DeletePolicies", &args, &out); err != nil {
			return nil, err
		}
		setIndex(resp, out.Index)
		return nil, nil
	}
	return nil, errMethodNotAllowed
}

// ACLTokensRequest lists tokens.
func (s *HTTPServer) ACLTokensRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var args structs.GenericRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ACLTokenListResponse
	if err := s.agent.RPC("ACL.ListTokens", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	return out.Tokens, nil
}

// ACLTokenCreateRequest creates a token.
func (s *HTTPServer) ACLTokenCreateRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	var t structs.ACLToken
	if err := decodeBody(req, &t, false); err != nil {
		return nil, err
	}
	if t.AccessorID != "" {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "Accessor ID must not be set when creating a token; update with PUT /v1/acl/token/<accessor>")
	}
	return s.upsertToken(resp, req, &t)
}

func (s *HTTPServer) upsertToken(resp http.ResponseWriter, req *http.Request, t *structs.ACLToken) (any, error) {
	t.SecretID = ""
	args := structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{t}}
	s.parseWriteRequest(req, &args.WriteRequest)
	var out structs.ACLTokenUpsertResponse
	if err := s.agent.RPC("ACL.UpsertTokens", &args, &out); err != nil {
		return nil, err
	}
	setIndex(resp, out.Index)
	return out.Tokens[0], nil
}

// ACLTokenSelfRequest returns the caller's own token.
func (s *HTTPServer) ACLTokenSelfRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	args := structs.ResolveACLTokenRequest{SecretID: tokenFromRequest(req)}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ResolveACLTokenResponse
	if err := s.agent.RPC("ACL.ResolveToken", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	return out.Token, nil
}

// ACLTokenSpecificRequest reads, updates or deletes one token.
func (s *HTTPServer) ACLTokenSpecificRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	accessor := req.PathValue("accessor")
	switch req.Method {
	case http.MethodGet:
		args := structs.ACLTokenSpecificRequest{AccessorID: accessor}
		if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
			return nil, err
		}
		var out structs.SingleACLTokenResponse
		if err := s.agent.RPC("ACL.GetToken", &args, &out); err != nil {
			return nil, err
		}
		setMeta(resp, &out.QueryMeta)
		if out.Token == nil {
			// 404, as Nomad: the caller is authorized, the token is absent.
			return nil, structs.NewErrCoded(http.StatusNotFound, "ACL token not found")
		}
		return out.Token, nil
	case http.MethodPut, http.MethodPost:
		var t structs.ACLToken
		if err := decodeBody(req, &t, false); err != nil {
			return nil, err
		}
		if t.AccessorID != "" && t.AccessorID != accessor {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "Accessor ID does not match request path")
		}
		t.AccessorID = accessor
		return s.upsertToken(resp, req, &t)
	case http.MethodDelete:
		args := structs.ACLTokenDeleteRequest{AccessorIDs: []string{accessor}}
		s.parseWriteRequest(req, &args.WriteRequest)
		var out structs.GenericResponse
		if err := s.agent.RPC("ACL.DeleteTokens", &args, &out); err != nil {
			return nil, err
		}
		setIndex(resp, out.Index)
		return nil, nil
	}
	return nil, errMethodNotAllowed
}
