package fsm

import (
	"fmt"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

// CollectorApplyResult is the answer of a collector apply: the collector
// as stored (before its removal, for an unregister; nil if there was
// none) and whether anything was written.
type CollectorApplyResult struct {
	Collector *structs.Collector
	Changed   bool
}

// UpsertCollector registers a collector or replaces its name and
// attributes. CreatedAt and CreateIndex survive a re-registration; a
// registration identical to what is stored writes nothing, so the table's
// index (and blocking queries on it) does not move.
func (s *StateStore) UpsertCollector(index uint64, c *structs.Collector, now time.Time) (*CollectorApplyResult, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()

	existing, err := txn.First(tableCollectors, "id", c.ID)
	if err != nil {
		return nil, fmt.Errorf("collector lookup failed: %w", err)
	}
	c = c.Copy()
	if existing != nil {
		old := existing.(*structs.Collector)
		if old.SameRegistration(c) {
			return &CollectorApplyResult{Collector: old}, nil
		}
		c.CreatedAt, c.CreateIndex = old.CreatedAt, old.CreateIndex
	} else {
		c.CreatedAt, c.CreateIndex = now, index
	}
	c.UpdatedAt, c.ModifyIndex = now, index
	if err := txn.Insert(tableCollectors, c); err != nil {
		return nil, fmt.Errorf("collector insert failed: %w", err)
	}
	if err := setIndex(txn, tableCollectors, index); err != nil {
		return nil, err
	}
	txn.Commit()
	return &CollectorApplyResult{Collector: c, Changed: true}, nil
}

// DeleteCollector removes a collector; an unknown ID changes nothing.
func (s *StateStore) DeleteCollector(index uint64, id string) (*CollectorApplyResult, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()

	existing, err := txn.First(tableCollectors, "id", id)
	if err != nil {
		return nil, fmt.Errorf("collector lookup failed: %w", err)
	}
	if existing == nil {
		return &CollectorApplyResult{}, nil
	}
	if err := txn.Delete(tableCollectors, existing); err != nil {
		return nil, fmt.Errorf("collector delete failed: %w", err)
	}
	if err := setIndex(txn, tableCollectors, index); err != nil {
		return nil, err
	}
	txn.Commit()
	return &CollectorApplyResult{Collector: existing.(*structs.Collector), Changed: true}, nil
}

// CollectorByID returns the collector with the given ID, or nil. The watch
// set fires when that collector changes.
func (s *StateStore) CollectorByID(ws memdb.WatchSet, id string) (*structs.Collector, error) {
	return first[structs.Collector](s, ws, tableCollectors, "id", id)
}

// Collectors returns every collector whose ID starts with prefix ("" for
// all), in ID order. The watch set fires when the set changes.
func (s *StateStore) Collectors(ws memdb.WatchSet, prefix string) ([]*structs.Collector, error) {
	return list[structs.Collector](s, ws, tableCollectors, prefix)
}

// CollectorRestore restores one collector from a snapshot.
func (r *StateRestore) CollectorRestore(c *structs.Collector) error {
	return r.txn.Insert(tableCollectors, c)
}
