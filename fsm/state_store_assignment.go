package fsm

import (
	"errors"
	"fmt"
	"slices"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

func assignmentTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableAssignments,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
		},
	}
}

// UpsertAssignments writes one scheduler's part of many nodes'
// assignments. A node that no longer exists is skipped (it was deleted
// after the worker read the state); an update that changes nothing writes
// nothing, so blocked readers of that node do not wake up.
func (s *StateStore) UpsertAssignments(index uint64, req *structs.NodeAssignmentUpsertRequest) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	changed := false
	for _, u := range req.Updates {
		node, err := txn.First(tableNodes, "id", u.NodeID)
		if err != nil {
			return fmt.Errorf("node lookup failed: %w", err)
		}
		if node == nil {
			continue
		}
		raw, err := txn.First(tableAssignments, "id", u.NodeID)
		if err != nil {
			return fmt.Errorf("assignment lookup failed: %w", err)
		}
		a := &structs.NodeAssignment{NodeID: u.NodeID, CreateIndex: index}
		if raw != nil {
			a = raw.(*structs.NodeAssignment).Copy()
		}
		switch req.Kind {
		case structs.AssignPipelines:
			if raw != nil && a.Hash == u.Hash && slices.Equal(a.PipelineIDs, u.PipelineIDs) {
				continue
			}
			a.PipelineIDs, a.Hash = slices.Clone(u.PipelineIDs), u.Hash
		case structs.AssignConfigs:
			if raw != nil && slices.Equal(a.Configs, u.Configs) {
				continue
			}
			a.Configs = slices.Clone(u.Configs)
		default:
			return fmt.Errorf("unknown assignment kind %q", req.Kind)
		}
		a.AssignIndex, a.ModifyIndex = index, index
		if err := txn.Insert(tableAssignments, a); err != nil {
			return fmt.Errorf("assignment insert failed: %w", err)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	if err := setIndex(txn, tableAssignments, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// UpdateAssignmentApplied records what a node reports it applied. A node
// reports before its first assignment is written too (it applied
// nothing), so the row is created if needed.
func (s *StateStore) UpdateAssignmentApplied(index uint64, req *structs.NodeAssignmentAppliedRequest) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if err := updateApplied(txn, index, req); err != nil {
		return err
	}
	if err := setIndex(txn, tableAssignments, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// UpdateAssignmentAppliedBatch records reports in order, in one
// transaction, as UpdateAssignmentApplied would one by one: errs holds
// each report's refusal (ErrUnknownNode), err a failure that writes none.
func (s *StateStore) UpdateAssignmentAppliedBatch(index uint64, reports []*structs.NodeAssignmentAppliedRequest) (errs []error, err error) {
	txn := s.db.Txn(true)
	defer txn.Abort()
	errs = make([]error, len(reports))
	for i, req := range reports {
		if err := updateApplied(txn, index, req); errors.Is(err, structs.ErrUnknownNode) {
			errs[i] = err
		} else if err != nil {
			return nil, err
		}
	}
	if err := setIndex(txn, tableAssignments, index); err != nil {
		return nil, err
	}
	txn.Commit()
	return errs, nil
}

func updateApplied(txn *memdb.Txn, index uint64, req *structs.NodeAssignmentAppliedRequest) error {
	node, err := txn.First(tableNodes, "id", req.NodeID)
	if err != nil {
		return fmt.Errorf("node lookup failed: %w", err)
	}
	if node == nil {
		return structs.ErrUnknownNode
	}
	raw, err := txn.First(tableAssignments, "id", req.NodeID)
	if err != nil {
		return fmt.Errorf("assignment lookup failed: %w", err)
	}
	a := &structs.NodeAssignment{NodeID: req.NodeID, CreateIndex: index}
	if raw != nil {
		a = raw.(*structs.NodeAssignment).Copy()
	}
	a.AppliedHash, a.AppliedError, a.AppliedAt = req.Hash, req.Error, req.AppliedAt
	a.Instances = req.Instances
	a.ModifyIndex = index
	if err := txn.Insert(tableAssignments, a); err != nil {
		return fmt.Errorf("assignment insert failed: %w", err)
	}
	return nil
}

// AssignmentByNode returns a node's assignment, or nil; the watch set
// fires when it changes.
func (s *StateStore) AssignmentByNode(ws memdb.WatchSet, nodeID string) (*structs.NodeAssignment, error) {
	return first[structs.NodeAssignment](s, ws, tableAssignments, "id", nodeID)
}

// Assignments returns every node's assignment, by node ID.
func (s *StateStore) Assignments(ws memdb.WatchSet) ([]*structs.NodeAssignment, error) {
	return list[structs.NodeAssignment](s, ws, tableAssignments, "")
}

// AssignmentRestore restores one assignment from a snapshot.
func (r *StateRestore) AssignmentRestore(a *structs.NodeAssignment) error {
	return r.txn.Insert(tableAssignments, a)
}
