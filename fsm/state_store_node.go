package fsm

import (
	"fmt"
	"net/http"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

// UpsertNode inserts or replaces a node. CreateIndex survives a
// re-registration; ModifyIndex becomes index.
func (s *StateStore) UpsertNode(index uint64, node *structs.Node, updatedAt int64) error {
	txn := s.db.Txn(true)
	defer txn.Abort()

	node = node.Copy()
	existing, err := txn.First(tableNodes, "id", node.ID)
	if err != nil {
		return fmt.Errorf("node lookup failed: %w", err)
	}
	if existing != nil {
		old := existing.(*structs.Node)
		node.CreateIndex = old.CreateIndex
		if node.Status == old.Status {
			node.StatusUpdatedAt = old.StatusUpdatedAt
		} else {
			node.StatusUpdatedAt = updatedAt
		}
	} else {
		node.CreateIndex = index
		node.StatusUpdatedAt = updatedAt
	}
	node.ModifyIndex = index
	if node.StatusDescription == "" {
		node.StatusDescription = structs.NodeStatusDescription(node.Status)
	}
	if err := txn.Insert(tableNodes, node); err != nil {
		return fmt.Errorf("node insert failed: %w", err)
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// UpdateNodeStatus changes the status of an existing node.
func (s *StateStore) UpdateNodeStatus(index uint64, req *structs.NodeUpdateStatusRequest) error {
	txn := s.db.Txn(true)
	defer txn.Abort()

	existing, err := txn.First(tableNodes, "id", req.NodeID)
	if err != nil {
		return fmt.Errorf("node lookup failed: %w", err)
	}
	if existing == nil {
		return structs.ErrUnknownNode
	}
	node := existing.(*structs.Node).Copy()
	node.Status = req.Status
	node.StatusDescription = req.StatusDescription
	if node.StatusDescription == "" {
		node.StatusDescription = structs.NodeStatusDescription(req.Status)
	}
	node.StatusUpdatedAt = req.UpdatedAt
	node.ModifyIndex = index
	if err := txn.Insert(tableNodes, node); err != nil {
		return fmt.Errorf("node update failed: %w", err)
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// DeleteNodes removes nodes; unknown IDs fail the whole request so that a
// delete is all or nothing.
// A node's assignment goes with it.
func (s *StateStore) DeleteNodes(index uint64, ids []string) error {
	return s.deleteAll(index, tableNodes, ids, func(string) error { return structs.ErrUnknownNode },
		func(txn *memdb.Txn, id string) error { return deleteAssignment(txn, index, id) })
}

// deleteAssignment deletes a node's assignment, if it has one.
func deleteAssignment(txn *memdb.Txn, index uint64, nodeID string) error {
	n, err := txn.DeleteAll(tableAssignments, "id", nodeID)
	if err != nil {
		return fmt.Errorf("assignment delete failed: %w", err)
	}
	if n > 0 {
		return setIndex(txn, tableAssignments, index)
	}
	return nil
}

// DeleteDownNodes deletes those of the nodes that exist and are down,
// with their assignments: garbage collection, decided on the leader
// before a node may have come back.
func (s *StateStore) DeleteDownNodes(index uint64, ids []string) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	deleted := false
	for _, id := range ids {
		raw, err := txn.First(tableNodes, "id", id)
		if err != nil {
			return fmt.Errorf("node lookup failed: %w", err)
		}
		if raw == nil || raw.(*structs.Node).Status != structs.NodeStatusDown {
			continue
		}
		if err := txn.Delete(tableNodes, raw); err != nil {
			return fmt.Errorf("node delete failed: %w", err)
		}
		if err := deleteAssignment(txn, index, id); err != nil {
			return err
		}
		deleted = true
	}
	if !deleted {
		return nil
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// NodeByID returns the node with the given ID, or nil. The watch set fires
// when that node changes.
func (s *StateStore) NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error) {
	return first[structs.Node](s, ws, tableNodes, "id", id)
}

// Nodes returns every node whose ID starts with prefix ("" for all), in ID
// order. The watch set fires when the set changes.
func (s *StateStore) Nodes(ws memdb.WatchSet, prefix string) ([]*structs.Node, error) {
	return list[structs.Node](s, ws, tableNodes, prefix)
}

// NodeRestore restores one node from a snapshot.
func (r *StateRestore) NodeRestore(node *structs.Node) error {
	return r.txn.Insert(tableNodes, node)
}

// NodeBySecretID returns the node whose secret is secret (a client's own
// SecretID, or an external node's agent token), or nil. The watch set
// fires when that node changes.
func (s *StateStore) NodeBySecretID(ws memdb.WatchSet, secret string) (*structs.Node, error) {
	if secret == "" {
		return nil, nil
	}
	n, err := first[structs.Node](s, ws, tableNodes, "secret", secret)
	if err != nil || n == nil || n.SecretID != secret {
		// The check guards against an index entry that another node's
		// write replaced (a unique index does not refuse duplicates).
		return nil, err
	}
	return n, nil
}

// NodesByName returns the nodes named name, in ID order.
func (s *StateStore) NodesByName(ws memdb.WatchSet, name string) ([]*structs.Node, error) {
	return nodesByName(s.db.Txn(false), ws, name)
}

func nodesByName(txn *memdb.Txn, ws memdb.WatchSet, name string) ([]*structs.Node, error) {
	it, err := txn.Get(tableNodes, "name", name)
	if err != nil {
		return nil, fmt.Errorf("node lookup by name failed: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Node
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Node))
	}
	return out, nil
}

// ExternalNodeAttribute marks an external node in its attributes, so that
// pipeline matchers can select or exclude such hosts.
const ExternalNodeAttribute = "nomadlike.external"

// CreateNodeToken gives the node named req.Name the agent token
// req.SecretID. With no node of that name it creates an external node
// with req.NodeID; an external node of that name keeps its ID and gets
// the new secret (the old one stops working); a client node of that name
// is a conflict. Deciding here, in the apply, makes two racing requests
// for one name rotate one node instead of creating two. A request whose
// secret is already the node's writes nothing, so a repeat is harmless.
func (s *StateStore) CreateNodeToken(index uint64, req *structs.NodeTokenCreateRequest) (*structs.Node, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()

	named, err := nodesByName(txn, nil, req.Name)
	if err != nil {
		return nil, err
	}
	var node *structs.Node
	for _, n := range named {
		if !n.External {
			return nil, structs.NewErrCoded(http.StatusConflict,
				"node name %q belongs to a client node (ID %s) registered by a nomadlike agent: its agent pushes with its own node secret; pick another name for an agent token", req.Name, n.ID)
		}
		if node == nil {
			node = n
		}
	}
	if node != nil && node.SecretID == req.SecretID {
		return node, nil
	}
	holder, err := txn.First(tableNodes, "secret", req.SecretID)
	if err != nil {
		return nil, fmt.Errorf("node lookup failed: %w", err)
	}
	if holder != nil {
		return nil, structs.NewErrCoded(http.StatusConflict, "node secret already in use")
	}
	if node != nil {
		node = node.Copy()
		node.SecretID = req.SecretID
	} else {
		if other, err := txn.First(tableNodes, "id", req.NodeID); err != nil {
			return nil, fmt.Errorf("node lookup failed: %w", err)
		} else if other != nil {
			return nil, structs.NewErrCoded(http.StatusConflict, "node ID %s is already in use", req.NodeID)
		}
		node = &structs.Node{
			ID:                req.NodeID,
			SecretID:          req.SecretID,
			Name:              req.Name,
			Datacenter:        req.Datacenter,
			Attributes:        map[string]string{ExternalNodeAttribute: "true"},
			External:          true,
			Status:            structs.NodeStatusReady,
			StatusDescription: structs.NodeStatusDescriptionExternal,
			StatusUpdatedAt:   req.UpdatedAt,
			CreateIndex:       index,
		}
	}
	node.ModifyIndex = index
	if err := txn.Insert(tableNodes, node); err != nil {
		return nil, fmt.Errorf("node insert failed: %w", err)
	}
	if err := setIndex(txn, tableNodes, index); err != nil {
		return nil, err
	}
	txn.Commit()
	return node, nil
}
