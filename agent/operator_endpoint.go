package agent

import (
	"net/http"

	"github.com/nomadlike/nomadlike/structs"
)

// OperatorRaftConfiguration returns the raft configuration.
func (s *HTTPServer) OperatorRaftConfiguration(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var args structs.GenericRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.RaftConfigurationResponse
	if err := s.agent.RPC("Operator.RaftGetConfiguration", &args, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// OperatorRaftPeer removes a raft peer by ID (DELETE ?id=...).
func (s *HTTPServer) OperatorRaftPeer(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodDelete {
		return nil, errMethodNotAllowed
	}
	args := structs.RaftPeerByIDRequest{ID: req.URL.Query().Get("id")}
	if args.ID == "" {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "Must specify ?id with the server's raft ID")
	}
	s.parseWriteRequest(req, &args.WriteRequest)
	var out struct{}
	return nil, s.agent.RPC("Operator.RaftRemovePeerByID", &args, &out)
}
