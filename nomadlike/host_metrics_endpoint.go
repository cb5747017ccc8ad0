package nomadlike

import (
	"errors"
	"net/http"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/hostmetrics"
	"github.com/nomadlike/nomadlike/structs"
)

// HostMetricsEndpoint receives nodes' host metrics (spec 004) and answers
// reads of this server's share of them. Metrics never go through raft:
// every RPC here is answered by the server it reaches.
type HostMetricsEndpoint struct {
	srv *Server
}

// Ingest authenticates a push by its agent token, validates the payload
// and stores it here. A refusal is an answer (reply.Rejected, nothing
// stored), not an error: it would be refused by any server.
func (h *HostMetricsEndpoint) Ingest(args *structs.HostMetricsIngestRequest, reply *structs.HostMetricsIngestResponse) error {
	reject := func(e *structs.IngestError) error {
		e.RequestID = args.RequestID
		reply.Rejected = e
		return nil
	}
	s := h.srv
	if s.isShutdown() {
		return reject(ingestError(http.StatusServiceUnavailable, structs.IngestServiceUnavailable,
			"this server is shutting down", "push to another server"))
	}
	node, ierr := s.hostMetricsNode(args.SecretID, args.NodeID)
	if ierr != nil {
		return reject(ierr)
	}
	p, ignored, release, ierr := hostmetrics.DecodePooled(args.Payload)
	if ierr != nil {
		return reject(ierr)
	}
	defer release()
	received := args.ReceivedAt
	if received.IsZero() {
		received = time.Now()
	}
	nl := hostmetrics.NodeLabels{NodeID: node.ID, Node: node.Name, Datacenter: node.Datacenter}
	n, err := s.hostMetrics.Ingest(nl, p, args.Payload, received, s.config.NodeName)
	if err != nil {
		var ie *structs.IngestError
		if errors.As(err, &ie) {
			return reject(ie)
		}
		s.logger.Error("storing host metrics", "node_id", node.ID, "error", err)
		return reject(ingestError(http.StatusServiceUnavailable, structs.IngestServiceUnavailable,
			"storing the payload failed: "+err.Error(), "retry; the payload was not stored"))
	}
	reply.NodeID, reply.NodeName, reply.Samples, reply.Server = node.ID, node.Name, n, s.config.NodeName
	reply.Ignored = ignored
	return nil
}

// Read answers a peer server's read of this server's own series (a
// Prometheus remote-read query, or label names or values).
func (h *HostMetricsEndpoint) Read(args *structs.HostMetricsReadRequest, reply *structs.HostMetricsReadResponse) error {
	if err := h.srv.authorize(args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	return h.srv.hostMetrics.Read(args.Context(), args, reply)
}

// Latest is the latest payload of a node: this server's own with Local,
// otherwise the newest of every alive server's.
func (h *HostMetricsEndpoint) Latest(args *structs.HostMetricsLatestRequest, reply *structs.HostMetricsLatestResponse) error {
	s := h.srv
	if err := s.authorize(args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	if args.NodeID == "" {
		return structs.NewErrCoded(http.StatusBadRequest, "missing node ID")
	}
	reply.Latest = s.hostMetrics.Latest(args.NodeID)
	if args.Local {
		return nil
	}
	found, warnings := s.latestFromPeers(args.Context(), args.NodeID, args.AuthToken)
	for _, l := range found {
		if reply.Latest == nil || l.CollectedAt.After(reply.Latest.CollectedAt) {
			reply.Latest = l
		}
	}
	reply.Warnings = warnings
	return nil
}
