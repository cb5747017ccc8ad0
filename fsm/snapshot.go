package fsm

import (
	"bufio"
	"errors"
	"fmt"
	"io"

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
)

// snapshotHeader opens every snapshot.
type snapshotHeader struct {
	// Version of the snapshot format.
	Version int
}

// snapshotVersion 2 added the revision reference records (types 9 and
// 10); restore reads versions 1 and 2, and a build that knows only 1
// refuses a version 2 snapshot by its header rather than at its first
// reference record.
const snapshotVersion = 2

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
	persistPipelineRevisions,
	persistTable(tableConfigs, snapshotConfig),
	persistConfigRevisions,
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

func persistPipelineRevisions(s *StateStore, enc *codec.Encoder) error {
	txn := s.db.Txn(false)
	it, err := txn.Get(tablePipelineRevisions, "id")
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		rev := raw.(*structs.PipelineRevision)
		live, err := txn.First(tablePipelines, "id", rev.PipelineID)
		if err != nil {
			return err
		}
		if p, ok := live.(*structs.Pipeline); ok && p == rev.Snapshot {
			ref := *rev
			ref.Snapshot = nil
			err = writeRecord(enc, snapshotPipelineRevisionOfCurrent, &ref)
		} else {
			err = writeRecord(enc, snapshotPipelineRevision, rev)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func persistConfigRevisions(s *StateStore, enc *codec.Encoder) error {
	txn := s.db.Txn(false)
	it, err := txn.Get(tableConfigRevisions, "id")
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		rev := raw.(*structs.ConfigRevision)
		live, err := txn.First(tableConfigs, "id", rev.Name)
		if err != nil {
			return err
		}
		if c, ok := live.(*structs.InstanceConfig); ok && c == rev.Snapshot {
			ref := *rev
			ref.Snapshot = nil
			err = writeRecord(enc, snapshotConfigRevisionOfCurrent, &ref)
		} else {
			err = writeRecord(enc, snapshotConfigRevision, rev)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// restorers map a record type to the function that loads it.
var restorers = map[SnapshotType]func(r *StateRestore, dec *codec.Decoder) error{
	snapshotIndex:            restorer((*StateRestore).IndexRestore),
	snapshotNode:             restorer((*StateRestore).NodeRestore),
	snapshotACLPolicy:        restorer((*StateRestore).ACLPolicyRestore),
	snapshotACLToken:         restorer((*StateRestore).ACLTokenRestore),
	snapshotCounter:          restorer((*StateRestore).CounterRestore),
	snapshotPipeline:         restorer((*StateRestore).PipelineRestore),
	snapshotPipelineRevision: restorer((*StateRestore).PipelineRevisionRestore),
	snapshotConfig:           restorer((*StateRestore).ConfigRestore),
	snapshotConfigRevision:   restorer((*StateRestore).ConfigRevisionRestore),

	snapshotPipelineRevisionOfCurrent: restorer((*StateRestore).PipelineRevisionOfCurrentRestore),
	snapshotConfigRevisionOfCurrent:   restorer((*StateRestore).ConfigRevisionOfCurrentRestore),
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
func restoreSnapshot(r io.Reader, state *StateStore) error {
	dec := codec.NewDecoder(bufio.NewReader(r), structs.MsgpackHandle)
	var header snapshotHeader
	if err := dec.Decode(&header); err != nil {
		return fmt.Errorf("snapshot header: %w", err)
	}
	if header.Version < 1 || header.Version > snapshotVersion {
		return fmt.Errorf("unsupported snapshot version %d", header.Version)
	}
	restore := state.Restore()
	defer restore.Abort()
	for {
		var t uint8
		if err := dec.Decode(&t); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("snapshot record type: %w", err)
		}
		fn, ok := restorers[SnapshotType(t)]
		if !ok {
			return fmt.Errorf("unknown snapshot record type %d", t)
		}
		if err := fn(restore, dec); err != nil {
			return fmt.Errorf("snapshot record %d: %w", t, err)
		}
	}
	restore.Commit()
	return nil
}
