package agent

import (
	"net/http"

	"github.com/nomadlike/nomadlike/structs"
)

// NodesRequest lists nodes (?prefix=, blocking with ?index=).
func (s *HTTPServer) NodesRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	return s.listNodes(resp, req)
}

// listNodes is Node.List with the request's query options (blocking
// queries included), its index headers set on resp.
func (s *HTTPServer) listNodes(resp http.ResponseWriter, req *http.Request) ([]*structs.NodeListStub, error) {
	var args structs.NodeListRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.NodeListResponse
	if err := s.agent.RPC("Node.List", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	if out.Nodes == nil {
		out.Nodes = []*structs.NodeListStub{}
	}
	return out.Nodes, nil
}

// NodeSpecificRequest returns one node (blocking with ?index=).
func (s *HTTPServer) NodeSpecificRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	args := structs.NodeSpecificRequest{NodeID: req.PathValue("id")}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SingleNodeResponse
	if err := s.agent.RPC("Node.GetNode", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	if out.Node == nil {
		return nil, structs.NewErrCoded(http.StatusNotFound, "node not found")
	}
	return out.Node, nil
}
