package fsm

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

func init() {
	register(structs.RevisionPruneRequestType, (*FSM).applyRevisionPrune)
}

// RevisionsBeyond lists the revisions that revision_retention = keep
// drops: all but the newest keep of each pipeline and each config, by
// sequence number. The leader decides this list and the FSM deletes
// exactly it, so every replica deletes the same revisions whatever the
// retention setting of each server.
func (s *StateStore) RevisionsBeyond(keep int) (pipelineSeqs, configSeqs []uint64, err error) {
	if keep <= 0 {
		return nil, nil, nil
	}
	txn := s.db.Txn(false)
	pipelineSeqs, err = beyond(txn, tablePipelineRevisions, "pipeline", keep,
		func(r *structs.PipelineRevision) (string, uint64) { return r.PipelineID, r.Seq })
	if err != nil {
		return nil, nil, err
	}
	configSeqs, err = beyond(txn, tableConfigRevisions, "name", keep,
		func(r *structs.ConfigRevision) (string, uint64) { return r.Name, r.Seq })
	return pipelineSeqs, configSeqs, err
}

// beyond walks table by its group index (each group's entries in
// sequence order) and returns all but the last keep of each group.
func beyond[R any](txn *memdb.Txn, table, index string, keep int, key func(R) (string, uint64)) ([]uint64, error) {
	it, err := txn.Get(table, index+"_prefix", "")
	if err != nil {
		return nil, fmt.Errorf("%s scan failed: %w", table, err)
	}
	var out, group []uint64
	var cur string
	flush := func() {
		if len(group) > keep {
			out = append(out, group[:len(group)-keep]...)
		}
		group = group[:0]
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		k, seq := key(raw.(R))
		if k != cur {
			flush()
			cur = k
		}
		group = append(group, seq)
	}
	flush()
	return out, nil
}

// PruneRevisions deletes the listed revisions; ones already gone are
// skipped (a retry of the same prune).
func (s *StateStore) PruneRevisions(index uint64, req *structs.RevisionPruneRequest) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	for _, t := range []struct {
		table string
		seqs  []uint64
	}{{tablePipelineRevisions, req.PipelineSeqs}, {tableConfigRevisions, req.ConfigSeqs}} {
		deleted := false
		for _, seq := range t.seqs {
			raw, err := txn.First(t.table, "id", seq)
			if err != nil {
				return fmt.Errorf("%s lookup failed: %w", t.table, err)
			}
			if raw == nil {
				continue
			}
			if err := txn.Delete(t.table, raw); err != nil {
				return fmt.Errorf("%s delete failed: %w", t.table, err)
			}
			deleted = true
		}
		if deleted {
			if err := setIndex(txn, t.table, index); err != nil {
				return err
			}
		}
	}
	txn.Commit()
	return nil
}

func (f *FSM) applyRevisionPrune(buf []byte, index uint64) any {
	var req structs.RevisionPruneRequest
	decode(buf, &req, index)
	if err := f.State().PruneRevisions(index, &req); err != nil {
		f.logger.Error("revision prune failed", "error", err)
		return err
	}
	return nil
}
