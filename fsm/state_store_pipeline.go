package fsm

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

// Counter names: IDs come from counters that only go up, kept in the
// state (and so in snapshots), so that an ID is never handed out twice,
// across deletes, restarts and leader changes.
const (
	counterPipelineID       = "pipeline_id"
	counterPipelineRevision = "pipeline_revision"
	counterConfigRevision   = "config_revision"
)

// Counter is one named sequence.
type Counter struct {
	Name  string
	Value uint64
}

// nextCounter increments and returns the named counter within txn.
func nextCounter(txn *memdb.Txn, name string) (uint64, error) {
	c := newCounterCache(txn)
	v, err := c.next(name)
	if err != nil {
		return 0, err
	}
	return v, c.flush()
}

// counterCache draws numbers from counters in memory and writes each
// counter it moved once, at flush: a batch of a hundred creates updates
// the counters table twice, not two hundred times, and memdb's per-insert
// copying was a third of a batched pipeline write's cost.
type counterCache struct {
	txn  *memdb.Txn
	vals map[string]uint64
}

func newCounterCache(txn *memdb.Txn) *counterCache {
	return &counterCache{txn: txn, vals: map[string]uint64{}}
}

// next returns the named counter's next value.
func (c *counterCache) next(name string) (uint64, error) {
	v, ok := c.vals[name]
	if !ok {
		raw, err := c.txn.First(tableCounters, "id", name)
		if err != nil {
			return 0, fmt.Errorf("counter lookup failed: %w", err)
		}
		if raw != nil {
			v = raw.(*Counter).Value
		}
	}
	v++
	c.vals[name] = v
	return v, nil
}

// flush writes the counters that moved.
func (c *counterCache) flush() error {
	for name, v := range c.vals {
		if err := c.txn.Insert(tableCounters, &Counter{Name: name, Value: v}); err != nil {
			return fmt.Errorf("counter update failed: %w", err)
		}
	}
	clear(c.vals)
	return nil
}

// CounterRestore restores one counter.
func (r *StateRestore) CounterRestore(c *Counter) error {
	return r.txn.Insert(tableCounters, c)
}

// PipelineRestore restores one pipeline.
func (r *StateRestore) PipelineRestore(p *structs.Pipeline) error {
	return r.txn.Insert(tablePipelines, p)
}

// PipelineRevisionRestore restores one pipeline revision, its snapshot
// sharing the restored pipeline as linkRevision decides (ref: a record
// written without the snapshot).
func (r *StateRestore) PipelineRevisionRestore(rev *structs.PipelineRevision, ref bool) error {
	if err := linkRevision(r.txn, tablePipelines, rev.PipelineID, &rev.Snapshot, ref); err != nil {
		return fmt.Errorf("revision %s: %w", rev.RevisionID, err)
	}
	return r.txn.Insert(tablePipelineRevisions, rev)
}

// PipelineApplyResult is what an applied (or previewed) pipeline request
// produced: the pipelines written by create, update and upsert in
// operation order, and the events to publish.
type PipelineApplyResult struct {
	Pipelines []*structs.Pipeline
	changes   []pipelineChange
}

type pipelineChange struct {
	op       string // a revision operation
	pipeline *structs.Pipeline
}

// ApplyPipelines applies req's operations in one transaction, each change
// with its revision; the first failing operation fails them all. With
// dryRun it computes the same result and writes nothing (IDs of pipelines
// it would create are left empty: they are only assigned by a write).
func (s *StateStore) ApplyPipelines(index uint64, req *structs.PipelineApplyRequest, dryRun bool) (*PipelineApplyResult, error) {
	b := s.newPipelineBatch()
	res, err := applyPipelines(b.txn, b.counters, index, req, dryRun)
	if err != nil || dryRun {
		b.Abort()
		return res, err
	}
	b.record(index, res)
	if err := b.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// applyPipelines runs req's operations in txn; on error txn holds part of
// them and must be aborted.
func applyPipelines(txn *memdb.Txn, counters *counterCache, index uint64, req *structs.PipelineApplyRequest, dryRun bool) (*PipelineApplyResult, error) {
	a := &pipelineApplier{txn: txn, counters: counters, index: index, now: req.Now, dryRun: dryRun, res: &PipelineApplyResult{}}
	var keep map[string]bool
	if req.SyncSource != nil {
		keep = map[string]bool{}
	}
	for _, op := range req.Operations {
		var err error
		switch op.Op {
		case structs.PipelineOpCreate:
			err = a.create(op.Pipeline)
		case structs.PipelineOpUpdate:
			err = a.update(op.Pipeline)
		case structs.PipelineOpUpsert:
			err = a.upsert(op.Pipeline, req.SyncSource)
		case structs.PipelineOpDelete:
			err = a.delete(op.ID)
		default:
			err = structs.NewErrCoded(http.StatusBadRequest, "unknown pipeline operation %q", op.Op)
		}
		if err != nil {
			return nil, err
		}
		if keep != nil && op.Pipeline != nil {
			keep[op.Pipeline.Name] = true
		}
	}
	if req.SyncSource != nil {
		if err := a.deleteUnlisted(req.SyncSource, keep); err != nil {
			return nil, err
		}
	}
	return a.res, nil
}

func setPipelineIndexes(txn *memdb.Txn, index uint64) error {
	if err := setIndex(txn, tablePipelines, index); err != nil {
		return err
	}
	return setIndex(txn, tablePipelineRevisions, index)
}

// batchable tells whether req may join a pipelineBatch: one operation and
// no sync. Every way such a request is refused (missing ID, taken name,
// another source's pipeline, bad operation) is found before it writes
// anything, so a refused request leaves a shared transaction as it was.
// Requests of several operations may fail half-way and need their own
// transaction.
func batchable(req *structs.PipelineApplyRequest) bool {
	return len(req.Operations) == 1 && req.SyncSource == nil
}

// pipelineBatch is a write transaction for pipeline requests with what
// commits them: the counters drawn and the last index that changed
// something. ApplyPipelines runs one request in it; ApplyBatch runs the
// batchable requests of consecutive log entries in one and commits them
// together, so the radix-tree paths, index entries and counters they all
// touch are copied once per batch instead of once per entry. Nothing is
// visible to readers before Commit.
type pipelineBatch struct {
	txn       *memdb.Txn
	counters  *counterCache
	lastIndex uint64 // highest index that changed something
}

// newPipelineBatch opens a batch on the current state.
func (s *StateStore) newPipelineBatch() *pipelineBatch {
	txn := s.db.Txn(true)
	return &pipelineBatch{txn: txn, counters: newCounterCache(txn)}
}

// errBatchBroken is returned by pipelineBatch.Apply when an entry failed
// after writing part of itself (an internal memdb error, not a refusal):
// the caller must Abort and apply the batch's entries one by one.
var errBatchBroken = errors.New("pipeline batch broken")

// Apply applies one batchable request at index. A refusal (a
// *structs.CodedError) is the entry's answer and leaves the batch intact.
func (b *pipelineBatch) Apply(index uint64, req *structs.PipelineApplyRequest) (*PipelineApplyResult, error) {
	res, err := applyPipelines(b.txn, b.counters, index, req, false)
	if err != nil {
		var coded *structs.CodedError
		if errors.As(err, &coded) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errBatchBroken, err)
	}
	b.record(index, res)
	return res, nil
}

// record notes that the request at index was applied: the table indexes
// move to it if it changed anything.
func (b *pipelineBatch) record(index uint64, res *PipelineApplyResult) {
	if len(res.changes) > 0 {
		b.lastIndex = index
	}
}

// Commit makes every applied entry visible at once; a batch that changed
// nothing is discarded.
func (b *pipelineBatch) Commit() error {
	if b.lastIndex == 0 {
		b.txn.Abort()
		return nil
	}
	if err := b.counters.flush(); err != nil {
		b.txn.Abort()
		return err
	}
	if err := setPipelineIndexes(b.txn, b.lastIndex); err != nil {
		b.txn.Abort()
		return err
	}
	b.txn.Commit()
	return nil
}

// Abort discards the batch.
func (b *pipelineBatch) Abort() { b.txn.Abort() }

// pipelineApplier carries one ApplyPipelines transaction.
type pipelineApplier struct {
	txn      *memdb.Txn
	counters *counterCache
	index    uint64
	now      time.Time
	dryRun   bool
	res      *PipelineApplyResult
}

func (a *pipelineApplier) byName(name string) (*structs.Pipeline, error) {
	raw, err := a.txn.First(tablePipelines, "name", name)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.Pipeline), nil
}

func (a *pipelineApplier) byID(id string) (*structs.Pipeline, error) {
	raw, err := a.txn.First(tablePipelines, "id", id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.Pipeline), nil
}

func errPipelineNotFound(id string) error {
	return structs.NewErrCoded(http.StatusNotFound, "pipeline with ID %q not found", id)
}

func errPipelineNameTaken(name string) error {
	return structs.NewErrCoded(http.StatusConflict, "a pipeline named %q already exists", name)
}

func (a *pipelineApplier) create(in *structs.Pipeline) error {
	if in == nil {
		return structs.NewErrCoded(http.StatusBadRequest, "missing pipeline")
	}
	existing, err := a.byName(in.Name)
	if err != nil {
		return err
	}
	if existing != nil {
		return errPipelineNameTaken(in.Name)
	}
	p := in.Copy()
	p.ID = ""
	if !a.dryRun {
		id, err := a.counters.next(counterPipelineID)
		if err != nil {
			return err
		}
		p.ID = strconv.FormatUint(id, 10)
	}
	p.CreatedAt, p.UpdatedAt = a.now, a.now
	p.CreateIndex, p.ModifyIndex = a.index, a.index
	return a.write(p, structs.RevisionInsert)
}

// replace makes in the new state of old: what is not set in in is
// cleared, as UpdatePipeline documents. An identical pipeline is no
// change: nothing is written and no revision recorded, so that a sync
// run on every push does not grow the history.
func (a *pipelineApplier) replace(old, in *structs.Pipeline) error {
	if in.Name != old.Name {
		other, err := a.byName(in.Name)
		if err != nil {
			return err
		}
		if other != nil {
			return errPipelineNameTaken(in.Name)
		}
	}
	p := in.Copy()
	p.ID = old.ID
	p.CreatedAt, p.CreateIndex = old.CreatedAt, old.CreateIndex
	if samePipeline(old, p) {
		a.res.Pipelines = append(a.res.Pipelines, old)
		return nil
	}
	p.UpdatedAt, p.ModifyIndex = a.now, a.index
	return a.write(p, structs.RevisionUpdate)
}

func (a *pipelineApplier) update(in *structs.Pipeline) error {
	if in == nil {
		return structs.NewErrCoded(http.StatusBadRequest, "missing pipeline")
	}
	old, err := a.byID(in.ID)
	if err != nil {
		return err
	}
	if old == nil {
		return errPipelineNotFound(in.ID)
	}
	return a.replace(old, in)
}

func (a *pipelineApplier) upsert(in *structs.Pipeline, src *structs.PipelineSyncSource) error {
	if in == nil {
		return structs.NewErrCoded(http.StatusBadRequest, "missing pipeline")
	}
	old, err := a.byName(in.Name)
	if err != nil {
		return err
	}
	if old == nil {
		return a.create(in)
	}
	if src != nil && (old.SourceType != src.Type || old.SourceNamespace != src.Namespace) {
		return structs.NewErrCoded(http.StatusConflict,
			"pipeline %q is not owned by source %s/%s; delete it or sync it from its own source", in.Name, src.Type, src.Namespace)
	}
	return a.replace(old, in)
}

func (a *pipelineApplier) delete(id string) error {
	old, err := a.byID(id)
	if err != nil {
		return err
	}
	if old == nil {
		return errPipelineNotFound(id)
	}
	return a.remove(old)
}

func (a *pipelineApplier) remove(old *structs.Pipeline) error {
	if err := a.txn.Delete(tablePipelines, old); err != nil {
		return fmt.Errorf("pipeline delete failed: %w", err)
	}
	a.res.changes = append(a.res.changes, pipelineChange{op: structs.RevisionDelete, pipeline: old})
	return a.revision(old, structs.RevisionDelete)
}

// deleteUnlisted removes the source's pipelines that a sync did not name.
func (a *pipelineApplier) deleteUnlisted(src *structs.PipelineSyncSource, keep map[string]bool) error {
	it, err := a.txn.Get(tablePipelines, "id")
	if err != nil {
		return fmt.Errorf("pipeline list failed: %w", err)
	}
	var gone []*structs.Pipeline
	for raw := it.Next(); raw != nil; raw = it.Next() {
		p := raw.(*structs.Pipeline)
		if p.SourceType == src.Type && p.SourceNamespace == src.Namespace && !keep[p.Name] {
			gone = append(gone, p)
		}
	}
	for _, p := range gone {
		if err := a.remove(p); err != nil {
			return err
		}
	}
	return nil
}

// write stores p (in a dry run only records it) with its revision.
func (a *pipelineApplier) write(p *structs.Pipeline, op string) error {
	a.res.Pipelines = append(a.res.Pipelines, p)
	if a.dryRun {
		return nil
	}
	if err := a.txn.Insert(tablePipelines, p); err != nil {
		return fmt.Errorf("pipeline insert failed: %w", err)
	}
	a.res.changes = append(a.res.changes, pipelineChange{op: op, pipeline: p})
	return a.revision(p, op)
}

func (a *pipelineApplier) revision(p *structs.Pipeline, op string) error {
	if a.dryRun {
		return nil
	}
	seq, err := a.counters.next(counterPipelineRevision)
	if err != nil {
		return err
	}
	rev := &structs.PipelineRevision{
		Seq: seq, RevisionID: strconv.FormatUint(seq, 10), PipelineID: p.ID,
		Snapshot: p, CreatedAt: a.now, Operation: op, Index: a.index,
	}
	if err := a.txn.Insert(tablePipelineRevisions, rev); err != nil {
		return fmt.Errorf("pipeline revision insert failed: %w", err)
	}
	return nil
}

// samePipeline compares what a user controls (not times or indexes).
func samePipeline(a, b *structs.Pipeline) bool {
	return a.Name == b.Name && a.Contents == b.Contents && slices.Equal(a.Matchers, b.Matchers) &&
		a.Enabled == b.Enabled && bytes.Equal(a.Metadata, b.Metadata) && a.SourceType == b.SourceType &&
		a.SourceNamespace == b.SourceNamespace && a.ConfigType == b.ConfigType
}

// PipelineByID returns a pipeline or nil.
func (s *StateStore) PipelineByID(ws memdb.WatchSet, id string) (*structs.Pipeline, error) {
	return first[structs.Pipeline](s, ws, tablePipelines, "id", id)
}

// PipelineByName returns a pipeline or nil.
func (s *StateStore) PipelineByName(ws memdb.WatchSet, name string) (*structs.Pipeline, error) {
	return first[structs.Pipeline](s, ws, tablePipelines, "name", name)
}

// Pipelines returns every pipeline ordered by numeric ID.
func (s *StateStore) Pipelines(ws memdb.WatchSet) ([]*structs.Pipeline, error) {
	out, err := list[structs.Pipeline](s, ws, tablePipelines, "")
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *structs.Pipeline) int { return compareNumericIDs(a.ID, b.ID) })
	return out, nil
}

// compareNumericIDs orders decimal IDs (no leading zeros) by value.
func compareNumericIDs(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// PipelineRevisions returns revisions in the order they were made: all of
// them when pipelineID is empty, else that pipeline's (the pipeline index
// orders each pipeline's entries by their primary key, the Seq key).
func (s *StateStore) PipelineRevisions(ws memdb.WatchSet, pipelineID string) ([]*structs.PipelineRevision, error) {
	txn := s.db.Txn(false)
	var it memdb.ResultIterator
	var err error
	if pipelineID == "" {
		it, err = txn.Get(tablePipelineRevisions, "id")
	} else {
		it, err = txn.Get(tablePipelineRevisions, "pipeline", pipelineID)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline revision list failed: %w", err)
	}
	ws.Add(it.WatchCh())
	out := []*structs.PipelineRevision{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.PipelineRevision))
	}
	// Both indexes iterate by Seq: see seqIndexer.
	return out, nil
}

// PipelineRevision returns one revision by its decimal ID, or nil.
func (s *StateStore) PipelineRevision(ws memdb.WatchSet, revisionID string) (*structs.PipelineRevision, error) {
	seq, err := strconv.ParseUint(revisionID, 10, 64)
	if err != nil {
		return nil, nil
	}
	watchCh, raw, err := s.db.Txn(false).FirstWatch(tablePipelineRevisions, "id", seq)
	if err != nil {
		return nil, fmt.Errorf("pipeline revision lookup failed: %w", err)
	}
	ws.Add(watchCh)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.PipelineRevision), nil
}
