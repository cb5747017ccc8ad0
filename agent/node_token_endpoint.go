package agent

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/nomadlike/nomadlike/structs"
)

// nodeTokenCreateBody is POST /v1/node/token's body.
type nodeTokenCreateBody struct {
	Name       string
	Datacenter string
}

// nodeTokenCreateAnswer is what POST /v1/node/token answers: the secret is
// shown this once.
type nodeTokenCreateAnswer struct {
	NodeID   string
	Name     string
	SecretID string
	Index    uint64
}

// NodeTokenCreateRequest mints an agent token bound to a node name
// (POST /v1/node/token): the host then pushes host metrics to
// /api/metrics/ingest with "Authorization: Bearer <SecretID>". The node
// ID and secret are picked here, once, so a retry of the RPC mints the
// same token.
func (s *HTTPServer) NodeTokenCreateRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	var body nodeTokenCreateBody
	if err := decodeBody(req, &body, false); err != nil {
		return nil, err
	}
	args := structs.NodeTokenCreateRequest{
		Name:       body.Name,
		Datacenter: body.Datacenter,
		NodeID:     uuid.NewString(),
		SecretID:   uuid.NewString(),
	}
	s.parseWriteRequest(req, &args.WriteRequest)
	var out structs.NodeTokenCreateResponse
	if err := s.agent.RPC("Node.CreateToken", &args, &out); err != nil {
		return nil, err
	}
	setIndex(resp, out.Index)
	return &nodeTokenCreateAnswer{NodeID: out.NodeID, Name: out.Name, SecretID: out.SecretID, Index: out.Index}, nil
}
