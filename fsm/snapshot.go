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
)

// snapshotHeader opens every snapshot.
type snapshotHeader struct {
	// Version of the snapshot format.
	Version int
}

const snapshotVersion = 1

// persister writes every record of one table.
type persister func(s *StateStore, enc *codec.Encoder) error

// persisters run in this order; restore accepts records in any order.
var persisters = []persister{
	persistTable(tableIndex, snapshotIndex),
	persistTable(tableNodes, snapshotNode),
	persistTable(tableACLPolicies, snapshotACLPolicy),
	persistTable(tableACLTokens, snapshotACLToken),
	persistTable(tableCounters, snapshotCounter),
	persistTable(tablePipelines, snapshotPipeline),
	persistTable(tablePipelineRevisions, snapshotPipelineRevision),
	persistTable(tableConfigs, snapshotConfig),
	persistTable(tableConfigRevisions, snapshotConfigRevision),
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
	if header.Version != snapshotVersion {
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
