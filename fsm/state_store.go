package fsm

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// StateStore is the replicated state, held in go-memdb. Every write comes
// from an FSM apply with its raft index; reads run on snapshots and may
// block on watch sets.
type StateStore struct {
	db *memdb.MemDB
	// abandonCh is closed when a restore replaces this store, so that
	// blocking queries on it wake up and re-run on the new one.
	abandonCh chan struct{}
}

// NewStateStore returns an empty state store.
func NewStateStore() (*StateStore, error) {
	db, err := memdb.NewMemDB(stateStoreSchema())
	if err != nil {
		return nil, fmt.Errorf("state store setup failed: %w", err)
	}
	return &StateStore{db: db, abandonCh: make(chan struct{})}, nil
}

// Snapshot returns a point-in-time, read-only view of the store.
func (s *StateStore) Snapshot() *StateStore {
	return &StateStore{db: s.db.Snapshot(), abandonCh: s.abandonCh}
}

// AbandonCh is closed when the store is replaced by a restore.
func (s *StateStore) AbandonCh() <-chan struct{} { return s.abandonCh }

// Abandon marks the store as replaced.
func (s *StateStore) Abandon() { close(s.abandonCh) }

// Index returns the raft index of the last write to table.
func (s *StateStore) Index(table string) (uint64, error) {
	txn := s.db.Txn(false)
	raw, err := txn.First(tableIndex, "id", table)
	if err != nil || raw == nil {
		return 0, err
	}
	return raw.(*IndexEntry).Value, nil
}

// IndexWatch returns the raft index of the last write to table, adding to
// ws a channel that fires on the next one.
func (s *StateStore) IndexWatch(ws memdb.WatchSet, table string) (uint64, error) {
	watchCh, raw, err := s.db.Txn(false).FirstWatch(tableIndex, "id", table)
	if err != nil {
		return 0, err
	}
	ws.Add(watchCh)
	if raw == nil {
		return 0, nil
	}
	return raw.(*IndexEntry).Value, nil
}

// Table names a scheduler watches.
const (
	TableNodes     = tableNodes
	TablePipelines = tablePipelines
	TableConfigs   = tableConfigs
)

// LatestIndex returns the highest index of any table.
func (s *StateStore) LatestIndex() (uint64, error) {
	txn := s.db.Txn(false)
	it, err := txn.Get(tableIndex, "id")
	if err != nil {
		return 0, err
	}
	var max uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*IndexEntry).Value; v > max {
			max = v
		}
	}
	return max, nil
}

// LatestIndexWatch is LatestIndex, adding to ws a channel that fires on
// the next write to any table.
func (s *StateStore) LatestIndexWatch(ws memdb.WatchSet) (uint64, error) {
	it, err := s.db.Txn(false).Get(tableIndex, "id")
	if err != nil {
		return 0, err
	}
	ws.Add(it.WatchCh())
	var max uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*IndexEntry).Value; v > max {
			max = v
		}
	}
	return max, nil
}

// setIndex records index as the last write to table within txn.
func setIndex(txn *memdb.Txn, table string, index uint64) error {
	if err := txn.Insert(tableIndex, &IndexEntry{Key: table, Value: index}); err != nil {
		return fmt.Errorf("index update failed: %w", err)
	}
	return nil
}

// Restore opens a transaction that fills an empty store from a snapshot.
func (s *StateStore) Restore() *StateRestore {
	return &StateRestore{txn: s.db.Txn(true)}
}

// StateRestore loads records from a snapshot in one transaction.
type StateRestore struct {
	txn *memdb.Txn
	// requests are the snapshot's request records (the FSM keeps them
	// beside the store, fsm/requests.go).
	requests []*RequestRecord
}

// Commit makes the restored records visible.
func (r *StateRestore) Commit() { r.txn.Commit() }

// Abort drops the restored records.
func (r *StateRestore) Abort() { r.txn.Abort() }

// IndexRestore restores one index entry.
func (r *StateRestore) IndexRestore(idx *IndexEntry) error {
	return r.txn.Insert(tableIndex, idx)
}

// first returns the row of table whose index equals value, or nil; the
// watch set fires when that row changes.
func first[T any](s *StateStore, ws memdb.WatchSet, table, index, value string) (*T, error) {
	watchCh, raw, err := s.db.Txn(false).FirstWatch(table, index, value)
	if err != nil {
		return nil, fmt.Errorf("%s lookup failed: %w", table, err)
	}
	ws.Add(watchCh)
	if raw == nil {
		return nil, nil
	}
	return raw.(*T), nil
}

// list returns the rows of table whose index starts with prefix, in index
// order (never nil); the watch set fires when the set changes.
func list[T any](s *StateStore, ws memdb.WatchSet, table, prefix string) ([]*T, error) {
	it, err := s.db.Txn(false).Get(table, "id_prefix", prefix)
	if err != nil {
		return nil, fmt.Errorf("%s list failed: %w", table, err)
	}
	ws.Add(it.WatchCh())
	out := []*T{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*T))
	}
	return out, nil
}

// deleteAll deletes the rows of table with the given IDs in one
// transaction: an unknown ID fails the whole request with notFound(id).
// also, if given, deletes what goes with each row in the same transaction.
func (s *StateStore) deleteAll(index uint64, table string, ids []string, notFound func(id string) error,
	also ...func(txn *memdb.Txn, id string) error) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	for _, id := range ids {
		existing, err := txn.First(table, "id", id)
		if err != nil {
			return fmt.Errorf("%s lookup failed: %w", table, err)
		}
		if existing == nil {
			return notFound(id)
		}
		if err := txn.Delete(table, existing); err != nil {
			return fmt.Errorf("%s delete failed: %w", table, err)
		}
		for _, fn := range also {
			if err := fn(txn, id); err != nil {
				return err
			}
		}
	}
	if err := setIndex(txn, table, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}
