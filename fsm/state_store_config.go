package fsm

import (
	"fmt"
	"net/http"
	"strconv"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

// ConfigApplyResult says what a config apply did.
type ConfigApplyResult struct {
	// Created is true when a put made a config that did not exist.
	Created bool
	// Changed is false when a put stored what was already there.
	Changed bool
	Config  *structs.InstanceConfig
}

// ErrConfigNotFound is the answer to a change of a config that does not
// exist; the endpoint checks it before writing, the FSM again.
func ErrConfigNotFound(name string) error { return errConfigNotFound(name) }

func errConfigNotFound(name string) error {
	return structs.NewErrCoded(http.StatusNotFound, "configuration %s does not exist", name)
}

// ApplyConfig puts or deletes one config with its revision. A job name
// may belong to one config only, as Grafana Agent's config store demands.
// Putting identical contents writes nothing and records no revision.
func (s *StateStore) ApplyConfig(index uint64, req *structs.ConfigApplyRequest) (*ConfigApplyResult, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()

	name := req.Name
	if !req.Delete {
		if req.Config == nil {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "missing config")
		}
		name = req.Config.Name
	}
	raw, err := txn.First(tableConfigs, "id", name)
	if err != nil {
		return nil, fmt.Errorf("config lookup failed: %w", err)
	}
	var old *structs.InstanceConfig
	if raw != nil {
		old = raw.(*structs.InstanceConfig)
	}

	res := &ConfigApplyResult{Created: old == nil, Changed: true}
	op := structs.RevisionInsert
	var rec *structs.InstanceConfig
	if req.Delete {
		if old == nil || structs.NormalizeConfigKind(old.Kind) != structs.NormalizeConfigKind(req.Kind) {
			return nil, errConfigNotFound(name)
		}
		if err := txn.Delete(tableConfigs, old); err != nil {
			return nil, fmt.Errorf("config delete failed: %w", err)
		}
		op, rec, res.Created = structs.RevisionDelete, old, false
	} else {
		if err := checkKind(old, req.Config); err != nil {
			return nil, err
		}
		if err := checkJobNames(txn, req.Config); err != nil {
			return nil, err
		}
		c := *req.Config
		c.JobNames = append([]string(nil), req.Config.JobNames...)
		c.CreatedAt, c.UpdatedAt = req.Now, req.Now
		c.CreateIndex, c.ModifyIndex = index, index
		if old != nil {
			if old.Contents == c.Contents {
				res.Changed, res.Config = false, old
				return res, nil
			}
			c.CreatedAt, c.CreateIndex = old.CreatedAt, old.CreateIndex
			op = structs.RevisionUpdate
		}
		if err := txn.Insert(tableConfigs, &c); err != nil {
			return nil, fmt.Errorf("config insert failed: %w", err)
		}
		rec = &c
	}
	res.Config = rec

	seq, err := nextCounter(txn, counterConfigRevision)
	if err != nil {
		return nil, err
	}
	rev := &structs.ConfigRevision{
		Seq: seq, RevisionID: strconv.FormatUint(seq, 10), Name: name,
		Snapshot: rec, CreatedAt: req.Now, Operation: op, Index: index,
	}
	if err := txn.Insert(tableConfigRevisions, rev); err != nil {
		return nil, fmt.Errorf("config revision insert failed: %w", err)
	}
	if err := setIndex(txn, tableConfigs, index); err != nil {
		return nil, err
	}
	if err := setIndex(txn, tableConfigRevisions, index); err != nil {
		return nil, err
	}
	txn.Commit()
	return res, nil
}

// checkKind refuses to replace a config by one of another kind: names are
// shared by the kinds, and a logs config silently taking the place of a
// metrics one (or the reverse) would stop what the other ran.
func checkKind(old, c *structs.InstanceConfig) error {
	if old == nil {
		return nil
	}
	if have, want := structs.NormalizeConfigKind(old.Kind), structs.NormalizeConfigKind(c.Kind); have != want {
		return ErrConfigKind(old.Name, have, want)
	}
	return nil
}

// ErrConfigKind is the answer to a put of a config under a name another
// kind of config has.
func ErrConfigKind(name, have, want string) error {
	return structs.NewErrCoded(http.StatusConflict,
		"configuration %s is a %s; delete it before storing a %s under its name", name, have, want)
}

// checkJobNames refuses a config whose scrape job names another config
// already uses.
func checkJobNames(txn *memdb.Txn, c *structs.InstanceConfig) error {
	for _, job := range c.JobNames {
		it, err := txn.Get(tableConfigs, "job", job)
		if err != nil {
			return fmt.Errorf("config job lookup failed: %w", err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if other := raw.(*structs.InstanceConfig); other.Name != c.Name {
				return structs.NewErrCoded(http.StatusBadRequest,
					"failed to validate config: found multiple scrape configs in config store with job name %q", job)
			}
		}
	}
	return nil
}

// ConfigByName returns a config or nil.
func (s *StateStore) ConfigByName(ws memdb.WatchSet, name string) (*structs.InstanceConfig, error) {
	return first[structs.InstanceConfig](s, ws, tableConfigs, "id", name)
}

// Configs returns every config ordered by name.
func (s *StateStore) Configs(ws memdb.WatchSet) ([]*structs.InstanceConfig, error) {
	return list[structs.InstanceConfig](s, ws, tableConfigs, "")
}

// ConfigRevisions returns one config's revisions in the order they were
// made (a deleted config's included): the name index orders a config's
// entries by their primary key, the Seq key (see seqIndexer).
func (s *StateStore) ConfigRevisions(ws memdb.WatchSet, name string) ([]*structs.ConfigRevision, error) {
	it, err := s.db.Txn(false).Get(tableConfigRevisions, "name", name)
	if err != nil {
		return nil, fmt.Errorf("config revision list failed: %w", err)
	}
	ws.Add(it.WatchCh())
	out := []*structs.ConfigRevision{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.ConfigRevision))
	}
	return out, nil
}

// ConfigRestore restores one config.
func (r *StateRestore) ConfigRestore(c *structs.InstanceConfig) error {
	return r.txn.Insert(tableConfigs, c)
}

// ConfigRevisionRestore restores one config revision, its snapshot
// sharing the restored config as linkRevision decides (ref: a record
// written without the snapshot).
func (r *StateRestore) ConfigRevisionRestore(rev *structs.ConfigRevision, ref bool) error {
	if err := linkRevision(r.txn, tableConfigs, rev.Name, &rev.Snapshot, ref); err != nil {
		return fmt.Errorf("revision %s: %w", rev.RevisionID, err)
	}
	return r.txn.Insert(tableConfigRevisions, rev)
}
