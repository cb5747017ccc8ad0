package nomadlike

import (
	"slices"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// pruneBatch is the most revisions one prune entry deletes.
const pruneBatch = 4096

// runCore is the _core scheduler: it deletes nodes that have been down
// longer than NodeGCThreshold, chats idle longer than ChatRetention and
// revisions beyond RevisionRetention.
func (s *Server) runCore(eval *structs.Evaluation, submitting func() error) error {
	if err := s.gcNodes(submitting); err != nil {
		return err
	}
	if err := s.pruneChats(submitting); err != nil {
		return err
	}
	return s.pruneRevisions(submitting)
}

// gcNodes deregisters nodes down for longer than the threshold. A node
// that comes back later registers again under its persisted ID.
func (s *Server) gcNodes(submitting func() error) error {
	if s.config.NodeGCThreshold <= 0 {
		return nil
	}
	nodes, err := s.fsm.State().Nodes(nil, "")
	if err != nil {
		return err
	}
	cutoff := time.Now().Add(-s.config.NodeGCThreshold).Unix()
	var gone []string
	for _, n := range nodes {
		// External nodes are the operator's: only deleting them ends them.
		if n.Status == structs.NodeStatusDown && n.StatusUpdatedAt <= cutoff && !n.External {
			gone = append(gone, n.ID)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	for batch := range slices.Chunk(gone, pruneBatch) {
		if err := submitting(); err != nil {
			return err
		}
		if _, _, err := s.raftApply(structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: batch, OnlyDown: true}); err != nil {
			return err
		}
	}
	s.logger.Info("garbage-collected down nodes", "count", len(gone), "threshold", s.config.NodeGCThreshold)
	return nil
}

// pruneRevisions deletes revisions beyond retention.
func (s *Server) pruneRevisions(submitting func() error) error {
	pipelines, configs, err := s.fsm.State().RevisionsBeyond(s.config.RevisionRetention)
	if err != nil || len(pipelines)+len(configs) == 0 {
		return err
	}
	for len(pipelines)+len(configs) > 0 {
		if err := submitting(); err != nil {
			return err
		}
		req := &structs.RevisionPruneRequest{}
		n := min(len(pipelines), pruneBatch)
		req.PipelineSeqs, pipelines = pipelines[:n], pipelines[n:]
		n = min(len(configs), pruneBatch-len(req.PipelineSeqs))
		req.ConfigSeqs, configs = configs[:n], configs[n:]
		if _, _, err := s.raftApply(structs.RevisionPruneRequestType, req); err != nil {
			return err
		}
	}
	s.logger.Info("pruned revisions beyond retention", "retention", s.config.RevisionRetention)
	return nil
}
