package nomadlike

import (
	"sync"

	"github.com/nomadlike/nomadlike/structs"
)

// maxReportBatch bounds a batch of applied reports: a few hundred bytes
// each, so a batch stays far below raftWarnSize.
const maxReportBatch = 256

// reportBatches coalesce the applied reports of nodes on the leader. The
// reports that arrive while one batch is in raft go into the next, so a
// change that thousands of nodes apply at once costs tens of raft entries
// and FSM transactions instead of thousands, and a report never waits for
// a timer: alone, it is a batch of one. A report only overwrites its
// node's last one, so a batch needs no request IDs to stay exactly-once:
// applying a report again, or after a newer one of another batch that
// raced it, leaves what the node reports next.
type reportBatches struct {
	mu      sync.Mutex
	running bool
	queue   []*queuedReport
}

type queuedReport struct {
	req   *structs.NodeAssignmentAppliedRequest
	done  chan struct{}
	index uint64
	err   error
}

// applyReport writes req through raft in the next batch and returns the
// index of the entry that holds it.
func (s *Server) applyReport(req *structs.NodeAssignmentAppliedRequest) (uint64, error) {
	q := &queuedReport{req: req, done: make(chan struct{})}
	b := &s.appliedReports
	b.mu.Lock()
	b.queue = append(b.queue, q)
	if !b.running {
		b.running = true
		go s.runReportBatches()
	}
	b.mu.Unlock()
	select {
	case <-q.done:
		return q.index, q.err
	case <-s.shutdownCh:
		return 0, structs.ErrShutdown
	}
}

// runReportBatches applies the queued reports, a batch at a time, until
// none is left.
func (s *Server) runReportBatches() {
	b := &s.appliedReports
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxReportBatch)
		if n == 0 {
			b.running, b.queue = false, nil
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()

		req := &structs.NodeAssignmentAppliedBatchRequest{Reports: make([]*structs.NodeAssignmentAppliedRequest, n)}
		for i, q := range batch {
			req.Reports[i] = q.req
		}
		resp, index, err := s.raftApply(structs.NodeAssignmentAppliedBatchRequestType, req)
		errs, _ := resp.([]error)
		for i, q := range batch {
			q.index, q.err = index, err
			if err == nil && i < len(errs) {
				q.err = errs[i]
			}
			close(q.done)
		}
	}
}
