package fsm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/structs"
)

// SnapshotType tags each record of a snapshot. New types must be added to
// the end: snapshots on disk keep their numbers forever.
type SnapshotType uint8

const (
	snapshotIndex            SnapshotType = 0
	snapshotNode             SnapshotType = 1
	snapshotACLPolicy        SnapshotType = 2
	snapshotACLToken         SnapshotType = 3
	snapshotCounter          SnapshotType = 4
	snapshotPipeline         SnapshotType = 5
	snapshotPipelineRevision SnapshotType = 6
	snapshotConfig           SnapshotType = 7
	snapshotConfigRevision   SnapshotType = 8
	// A revision whose snapshot is its pipeline (config) as stored now,
	// written without the snapshot after the pipeline (config) records.
	snapshotPipelineRevisionOfCurrent SnapshotType = 9
	snapshotConfigRevisionOfCurrent   SnapshotType = 10
	snapshotAssignment                SnapshotType = 11
	snapshotCollector                 SnapshotType = 12
	// snapshotRequest is a remembered request ID (fsm/requests.go).
	snapshotRequest SnapshotType = 13
	snapshotChat    SnapshotType = 14
)

// snapshotHeader opens every snapshot.
type snapshotHeader struct {
	// Version of the snapshot format.
	Version int
}

// snapshotVersion 2 added the revision reference records (types 9 and
// 10), version 3 node assignments and collectors (types 11 and 12),
// version 4 request records (type 13), version 5 assistant chats (type
// 14); restore reads versions 1 to 5, and an older build refuses a newer
// snapshot by its header rather than at its first record of a type it
// does not know.
const snapshotVersion = 5

// persister writes every record of one table.
type persister func(s *StateStore, enc *codec.Encoder) error

// persisters run in this order; restore accepts records in any order,
// except that a revision written as a reference to the current pipeline
// (config) comes after that pipeline (config).
var persisters = []persister{
	persistTable(tableIndex, snapshotIndex),
	persistTable(tableNodes, snapshotNode),
	persistTable(tableACLPolicies, snapshotACLPolicy),
	persistTable(tableACLTokens, snapshotACLToken),
	persistTable(tableCounters, snapshotCounter),
	persistTable(tablePipelines, snapshotPipeline),
	persistRevisions(tablePipelineRevisions, tablePipelines, snapshotPipelineRevision, snapshotPipelineRevisionOfCurrent,
		func(r *structs.PipelineRevision) string { return r.PipelineID },
		func(r *structs.PipelineRevision) *structs.Pipeline { return r.Snapshot },
		func(r *structs.PipelineRevision) *structs.PipelineRevision { c := *r; c.Snapshot = nil; return &c }),
	persistTable(tableConfigs, snapshotConfig),
	persistRevisions(tableConfigRevisions, tableConfigs, snapshotConfigRevision, snapshotConfigRevisionOfCurrent,
		func(r *structs.ConfigRevision) string { return r.Name },
		func(r *structs.ConfigRevision) *structs.InstanceConfig { return r.Snapshot },
		func(r *structs.ConfigRevision) *structs.ConfigRevision { c := *r; c.Snapshot = nil; return &c }),
	persistTable(tableAssignments, snapshotAssignment),
	persistTable(tableCollectors, snapshotCollector),
	persistTable(tableChats, snapshotChat),
}

// The latest revision of a live pipeline or config holds the very object
// the table holds (the apply stores one pointer in both). Written out in
// full, every such object would be in the snapshot twice, and after a
// restore twice in memory as well: a state of pipelines with one revision
// each doubles its size across a restart, and so does every snapshot's
// write. So such a revision is written as a reference, its snapshot left
// out, and the restore points it back at the record restored before it.
// A revision restored in full (from a version 1 snapshot) that equals the
// record of its pipeline (config) shares that record too, so a cluster
// upgraded from a build that wrote every revision in full gets the same
// sharing from its first restore on.

// persistRevisions writes the revisions of table: one whose snapshot is
// the object stored under its key in objects as a ref record, without
// the snapshot (bare clears it on a copy), any other as a full record.
func persistRevisions[R any, T any](table, objects string, full, ref SnapshotType,
	key func(R) string, snapshot func(R) *T, bare func(R) R) persister {
	return func(s *StateStore, enc *codec.Encoder) error {
		txn := s.db.Txn(false)
		it, err := txn.Get(table, "id")
		if err != nil {
			return err
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			rev := raw.(R)
			live, err := txn.First(objects, "id", key(rev))
			if err != nil {
				return err
			}
			if obj, ok := live.(*T); ok && obj == snapshot(rev) {
				err = writeRecord(enc, ref, bare(rev))
			} else {
				err = writeRecord(enc, full, rev)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// linkRevision points a restored revision's snapshot at the object
// restored under key in table: always for a ref record (the object must
// be there), and for a full one when the two are equal.
func linkRevision[T any](txn *memdb.Txn, table, key string, snapshot **T, ref bool) error {
	raw, err := txn.First(table, "id", key)
	if err != nil {
		return err
	}
	obj, ok := raw.(*T)
	switch {
	case ref && !ok:
		return fmt.Errorf("it refers to %s %q, which the snapshot does not hold before it", table, key)
	case ref || ok && reflect.DeepEqual(obj, *snapshot):
		*snapshot = obj
	}
	return nil
}

// restorers map a record type to the function that loads it.
var restorers = map[SnapshotType]func(r *StateRestore, dec *codec.Decoder) error{
	snapshotIndex:      restorer((*StateRestore).IndexRestore),
	snapshotNode:       restorer((*StateRestore).NodeRestore),
	snapshotACLPolicy:  restorer((*StateRestore).ACLPolicyRestore),
	snapshotACLToken:   restorer((*StateRestore).ACLTokenRestore),
	snapshotCounter:    restorer((*StateRestore).CounterRestore),
	snapshotAssignment: restorer((*StateRestore).AssignmentRestore),
	snapshotPipeline:   restorer((*StateRestore).PipelineRestore),
	snapshotPipelineRevision: restorer(func(r *StateRestore, rev *structs.PipelineRevision) error {
		return r.PipelineRevisionRestore(rev, false)
	}),
	snapshotConfig: restorer((*StateRestore).ConfigRestore),
	snapshotConfigRevision: restorer(func(r *StateRestore, rev *structs.ConfigRevision) error {
		return r.ConfigRevisionRestore(rev, false)
	}),

	snapshotPipelineRevisionOfCurrent: restorer(func(r *StateRestore, rev *structs.PipelineRevision) error {
		return r.PipelineRevisionRestore(rev, true)
	}),
	snapshotConfigRevisionOfCurrent: restorer(func(r *StateRestore, rev *structs.ConfigRevision) error {
		return r.ConfigRevisionRestore(rev, true)
	}),
	snapshotCollector: restorer((*StateRestore).CollectorRestore),
	snapshotRequest:   restorer((*StateRestore).RequestRestore),
	snapshotChat:      restorer((*StateRestore).ChatRestore),
}

// restorer decodes one record of type T and loads it.
func restorer[T any](load func(*StateRestore, *T) error) func(*StateRestore, *codec.Decoder) error {
	return func(r *StateRestore, dec *codec.Decoder) error {
		var v T
		if err := dec.Decode(&v); err != nil {
			return err
		}
		return load(r, &v)
	}
}

type fsmSnapshot struct {
	state *StateStore
	// requests are the FSM's request records when the snapshot was taken.
	requests []*RequestRecord
}

// Persist writes the header and then (type, record) pairs.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriter(sink)
	enc := codec.NewEncoder(w, structs.MsgpackHandle)
	err := enc.Encode(&snapshotHeader{Version: snapshotVersion})
	for _, p := range persisters {
		if err != nil {
			break
		}
		err = p(s.state, enc)
	}
	if err == nil {
		err = persistRequests(s.requests, enc)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("snapshot persist failed: %w", err)
	}
	return sink.Close()
}

// Release is a no-op: the memdb snapshot is garbage collected.
func (s *fsmSnapshot) Release() {}

func writeRecord(enc *codec.Encoder, t SnapshotType, rec any) error {
	if err := enc.Encode(uint8(t)); err != nil {
		return err
	}
	return enc.Encode(rec)
}

// persistTable writes every row of table as records of type t.
func persistTable(table string, t SnapshotType) persister {
	return func(s *StateStore, enc *codec.Encoder) error {
		it, err := s.db.Txn(false).Get(table, "id")
		if err != nil {
			return err
		}
		return persistAll(it, enc, t)
	}
}

func persistAll(it memdb.ResultIterator, enc *codec.Encoder, t SnapshotType) error {
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := writeRecord(enc, t, raw); err != nil {
			return err
		}
	}
	return nil
}

// restoreSnapshot reads a snapshot written by Persist into an empty store.
func restoreSnapshot(r io.Reader, state *StateStore) ([]*RequestRecord, error) {
	return readSnapshot(r, state, nil)
}

// readSnapshot is restoreSnapshot that also calls count for every record
// it loads (count may be nil).
func readSnapshot(r io.Reader, state *StateStore, count func(SnapshotType)) ([]*RequestRecord, error) {
	dec := codec.NewDecoder(bufio.NewReader(r), structs.MsgpackHandle)
	var header snapshotHeader
	if err := dec.Decode(&header); err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	if header.Version < 1 || header.Version > snapshotVersion {
		return nil, fmt.Errorf("unsupported snapshot version %d", header.Version)
	}
	restore := state.Restore()
	defer restore.Abort()
	for {
		var t uint8
		if err := dec.Decode(&t); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("snapshot record type: %w", err)
		}
		fn, ok := restorers[SnapshotType(t)]
		if !ok {
			return nil, fmt.Errorf("unknown snapshot record type %d", t)
		}
		if err := fn(restore, dec); err != nil {
			return nil, fmt.Errorf("snapshot record %d: %w", t, err)
		}
		if count != nil {
			count(SnapshotType(t))
		}
	}
	restore.Commit()
	return restore.requests, nil
}

// snapshotTypeNames name the record types for `operator snapshot
// inspect`. A revision written as a reference counts as a revision: the
// operator asks how many there are, not how they were written.
var snapshotTypeNames = map[SnapshotType]string{
	snapshotIndex:                     "Index",
	snapshotNode:                      "Node",
	snapshotACLPolicy:                 "ACLPolicy",
	snapshotACLToken:                  "ACLToken",
	snapshotCounter:                   "Counter",
	snapshotPipeline:                  "Pipeline",
	snapshotPipelineRevision:          "PipelineRevision",
	snapshotPipelineRevisionOfCurrent: "PipelineRevision",
	snapshotConfig:                    "Config",
	snapshotConfigRevision:            "ConfigRevision",
	snapshotConfigRevisionOfCurrent:   "ConfigRevision",
	snapshotAssignment:                "Assignment",
	snapshotCollector:                 "Collector",
	snapshotRequest:                   "Request",
	snapshotChat:                      "Chat",
}

// CheckSnapshot reads a whole FSM snapshot (the state.bin of a snapshot
// archive) into a scratch store, exactly as a restore would, and counts
// its records by type name. A snapshot it accepts is one every server can
// restore: raft panics on a restore the FSM refuses, so a user restore
// must pass this first.
func CheckSnapshot(r io.Reader) (map[string]int, error) {
	state, err := NewStateStore()
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	_, err = readSnapshot(r, state, func(t SnapshotType) {
		name, ok := snapshotTypeNames[t]
		if !ok {
			name = fmt.Sprintf("Type%d", t)
		}
		counts[name]++
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// RaiseIndexRecords returns snapshot records that, appended to a snapshot,
// set the index of every table to index (restore takes records in any
// order, and a later index record replaces an earlier one). A user
// restore appends them so that the restored state's indexes are above
// every index a client has seen: blocking queries and watchers then wake
// up and see the restored state instead of waiting for a change past an
// index the restore took back.
func RaiseIndexRecords(index uint64) ([]byte, error) {
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, structs.MsgpackHandle)
	names := make([]string, 0, len(schemaFuncs))
	for _, fn := range schemaFuncs {
		if name := fn().Name; name != tableIndex {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeRecord(enc, snapshotIndex, &IndexEntry{Key: name, Value: index}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}
