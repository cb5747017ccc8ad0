package nomadlike

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/nomadlike/validate"
	"github.com/nomadlike/nomadlike/structs"
)

// assignmentBatch is the most node assignments one raft entry carries: a
// change that moves every node of a large fleet is written in entries of
// a few hundred KB rather than one of many MB.
const assignmentBatch = 512

// evalFeeder runs on the leader: it watches the node, pipeline and config
// tables and turns every change into evaluations. Its first pass sees
// everything as changed, so a new leader reconciles the whole cluster:
// that is what makes evaluations safe to keep out of the raft log. Any
// change the old leader had not scheduled yet is scheduled now.
func (s *Server) evalFeeder(stopCh <-chan struct{}) {
	var seenNodes, seenPipelines, seenConfigs uint64
	core := time.NewTicker(s.config.CoreInterval)
	defer core.Stop()
	s.evalBroker.Enqueue(&structs.Evaluation{Type: structs.SchedulerCore, Key: "core", TriggeredBy: "leader-establish"})
	for {
		state := s.fsm.State()
		ws := memdb.NewWatchSet()
		ws.Add(state.AbandonCh())
		nodesIdx, err1 := state.IndexWatch(ws, fsm.TableNodes)
		pipelinesIdx, err2 := state.IndexWatch(ws, fsm.TablePipelines)
		configsIdx, err3 := state.IndexWatch(ws, fsm.TableConfigs)
		if err := errors.Join(err1, err2, err3); err != nil {
			s.logger.Error("eval feeder: reading indexes failed", "error", err)
		}
		fresh := seenNodes == 0 && seenPipelines == 0 && seenConfigs == 0
		if pipelinesIdx > seenPipelines || fresh {
			s.evalBroker.Enqueue(&structs.Evaluation{Type: structs.SchedulerPipeline, Key: "nodes",
				TriggeredBy: triggered(fresh, "pipeline-update"), StateIndex: pipelinesIdx})
		}
		if nodesIdx > seenNodes && !fresh {
			nodes, err := state.Nodes(nil, "")
			if err != nil {
				s.logger.Error("eval feeder: listing nodes failed", "error", err)
			}
			changed := map[string]struct{}{}
			for _, n := range nodes {
				if n.ModifyIndex > seenNodes {
					changed[n.ID] = struct{}{}
				}
			}
			if len(changed) > 0 {
				s.evalBroker.Enqueue(&structs.Evaluation{Type: structs.SchedulerPipeline, Key: "nodes",
					NodeIDs: changed, TriggeredBy: "node-update", StateIndex: nodesIdx})
			}
		}
		if configsIdx > seenConfigs || nodesIdx > seenNodes || fresh {
			s.evalBroker.Enqueue(&structs.Evaluation{Type: structs.SchedulerConfig, Key: "configs",
				TriggeredBy: triggered(fresh, "config-or-node-update"), StateIndex: max(configsIdx, nodesIdx)})
		}
		// Zero means "never written"; remember at least 1 so that the
		// first pass counts as done.
		seenNodes, seenPipelines, seenConfigs = max(nodesIdx, 1), max(pipelinesIdx, 1), max(configsIdx, 1)

		ctx, cancel := context.WithCancel(context.Background())
		fired := make(chan struct{})
		go func() { ws.WatchCtx(ctx); close(fired) }()
		select {
		case <-stopCh:
			cancel()
			return
		case <-s.shutdownCh:
			cancel()
			return
		case <-core.C:
			// A full reconcile with every _core run: it writes only what
			// differs, so normally nothing, and it brings back work an
			// evaluation dropped after its last delivery failed.
			s.evalBroker.Enqueue(&structs.Evaluation{Type: structs.SchedulerCore, Key: "core", TriggeredBy: "periodic"})
			s.evalBroker.Enqueue(&structs.Evaluation{Type: structs.SchedulerPipeline, Key: "nodes", TriggeredBy: "periodic-reconcile"})
			s.evalBroker.Enqueue(&structs.Evaluation{Type: structs.SchedulerConfig, Key: "configs", TriggeredBy: "periodic-reconcile"})
		case <-fired:
			if isClosed(state.AbandonCh()) {
				// A snapshot restore replaced the state: start over.
				seenNodes, seenPipelines, seenConfigs = 0, 0, 0
			}
		}
		cancel()
		<-fired
	}
}

func triggered(fresh bool, why string) string {
	if fresh {
		return "leader-establish"
	}
	return why
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// nodeMatchAttributes are the labels matchers see for a node: its
// fingerprinted attributes and the operator's meta, meta winning a clash
// (the operator's word is the more deliberate one).
func nodeMatchAttributes(n *structs.Node) map[string]string {
	out := make(map[string]string, len(n.Attributes)+len(n.Meta))
	maps.Copy(out, n.Attributes)
	maps.Copy(out, n.Meta)
	return out
}

// compiledPipeline is an assignable pipeline with its parsed matchers.
type compiledPipeline struct {
	p        *structs.Pipeline
	matchers []*validate.Matcher
}

// compilePipelines returns the assignable pipelines of all
// (structs.Pipeline.Assignable), in all's order, with their matchers
// parsed, and the matchers by stored pipeline for the next call. parsed
// holds those of an earlier call (nil: none): a stored pipeline never
// changes (a change stores a new one), so only new pipelines are parsed.
// A pipeline whose matchers do not parse (they are validated on write)
// matches nothing.
func compilePipelines(all []*structs.Pipeline, parsed map[*structs.Pipeline][]*validate.Matcher) (
	[]compiledPipeline, map[*structs.Pipeline][]*validate.Matcher) {
	out := make([]compiledPipeline, 0, len(all))
	next := make(map[*structs.Pipeline][]*validate.Matcher, len(parsed))
	for _, p := range all {
		if !p.Assignable() {
			continue
		}
		ms, ok := parsed[p]
		if !ok {
			var err error
			if ms, err = validate.ParseMatchers(p.Matchers); err != nil {
				continue
			}
		}
		next[p] = ms
		out = append(out, compiledPipeline{p: p, matchers: ms})
	}
	return out, next
}

// matchingPipelines returns the pipelines of ps whose matchers all match
// attrs (none matches everyone), in ps's order.
func matchingPipelines(ps []compiledPipeline, attrs map[string]string) []*structs.Pipeline {
	var out []*structs.Pipeline
	for _, cp := range ps {
		if validate.MatchAll(cp.matchers, attrs) {
			out = append(out, cp.p)
		}
	}
	return out
}

// assignablePipelines compiles the state's pipelines with the matchers
// kept from the previous call, so that a burst of writes re-parses only
// the pipelines written, not every pipeline on every scheduler pass or
// collector poll. ws watches the pipelines for blocking queries.
func (s *Server) assignablePipelines(ws memdb.WatchSet, state *fsm.StateStore) ([]compiledPipeline, error) {
	all, err := state.Pipelines(ws)
	if err != nil {
		return nil, err
	}
	s.matcherCacheMu.Lock()
	defer s.matcherCacheMu.Unlock()
	out, next := compilePipelines(all, s.matcherCache)
	s.matcherCache = next
	return out, nil
}

// schedulePipelines matches every enabled pipeline against the
// evaluation's nodes and writes the assignments that changed.
func (s *Server) schedulePipelines(eval *structs.Evaluation, submitting func() error) error {
	state := s.fsm.State().Snapshot()
	nodes, err := evalNodes(state, eval)
	if err != nil || len(nodes) == 0 {
		// No nodes, nothing to decide: pipeline writes to a cluster
		// without clients cost no scheduling.
		return err
	}
	pipelines, err := s.assignablePipelines(nil, state)
	if err != nil {
		return err
	}
	// In merge order, so that each node's PipelineIDs are too.
	slices.SortFunc(pipelines, func(a, b compiledPipeline) int {
		return cmp.Or(strings.Compare(a.p.Name, b.p.Name), strings.Compare(a.p.ID, b.p.ID))
	})
	// Nodes with the same pipelines share one merge and hash.
	hashes := map[string]string{}
	var updates []structs.AssignmentUpdate
	for _, n := range nodes {
		matched := matchingPipelines(pipelines, nodeMatchAttributes(n))
		ids := make([]string, 0, len(matched))
		for _, p := range matched {
			ids = append(ids, p.ID)
		}
		key := strings.Join(ids, ",")
		hash, ok := hashes[key]
		if !ok {
			_, hash = structs.MergePipelines(matched)
			hashes[key] = hash
		}
		cur, err := state.AssignmentByNode(nil, n.ID)
		if err != nil {
			return err
		}
		if cur != nil && cur.Hash == hash && slices.Equal(cur.PipelineIDs, ids) {
			continue
		}
		updates = append(updates, structs.AssignmentUpdate{NodeID: n.ID, PipelineIDs: ids, Hash: hash})
	}
	return s.submitAssignments(eval, structs.AssignPipelines, updates, submitting)
}

// evalNodes is the nodes an evaluation is about: its NodeIDs that still
// exist, or every node.
func evalNodes(state *fsm.StateStore, eval *structs.Evaluation) ([]*structs.Node, error) {
	if len(eval.NodeIDs) == 0 {
		return state.Nodes(nil, "")
	}
	out := make([]*structs.Node, 0, len(eval.NodeIDs))
	for _, id := range slices.Sorted(maps.Keys(eval.NodeIDs)) {
		n, err := state.NodeByID(nil, id)
		if err != nil {
			return nil, err
		}
		if n != nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// submitAssignments writes updates through raft in batches. submitting
// is called before the writes: it marks the worker Submitting and returns
// an error once the evaluation is no longer the worker's to write.
//
// The batches hold disjoint nodes, so they are written together rather
// than one after another: raft takes them into one disk sync and one
// replication round, and the last node of a large change learns of it a
// round trip after the first instead of a round trip per batch later.
func (s *Server) submitAssignments(eval *structs.Evaluation, kind structs.AssignmentKind,
	updates []structs.AssignmentUpdate, submitting func() error) error {
	if len(updates) == 0 {
		return nil
	}
	if err := submitting(); err != nil {
		return err
	}
	batches := slices.Collect(slices.Chunk(updates, assignmentBatch))
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for i, batch := range batches {
		wg.Go(func() {
			req := &structs.NodeAssignmentUpsertRequest{Kind: kind, Updates: batch, EvalID: eval.ID}
			start := time.Now()
			_, _, err := s.raftApply(structs.NodeAssignmentUpsertRequestType, req)
			metrics.MeasureSinceWithLabels(keyPlanApply, start, schedulerLabel(eval.Type))
			if err != nil {
				errs[i] = fmt.Errorf("writing %d assignments: %w", len(batch), err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.logger.Debug("assignments written", "eval_id", eval.ID, "kind", kind, "nodes", len(updates))
	return nil
}

// scheduleConfigs shards the agent instance configs over the ready nodes
// by rendezvous hashing: each config goes to the node that scores
// highest for it, so a node leaving moves only the configs it had and a
// node joining takes only the configs it now wins.
func (s *Server) scheduleConfigs(eval *structs.Evaluation, submitting func() error) error {
	state := s.fsm.State().Snapshot()
	configs, err := state.Configs(nil)
	if err != nil {
		return err
	}
	nodes, err := state.Nodes(nil, "")
	if err != nil {
		return err
	}
	var ready []string
	for _, n := range nodes {
		// An external node runs no nomadlike agent, so no config.
		if n.Status == structs.NodeStatusReady && !n.External {
			ready = append(ready, n.ID)
		}
	}
	want := map[string][]string{}
	if len(ready) > 0 {
		for _, c := range configs {
			owner := rendezvousOwner(c.Name, ready)
			want[owner] = append(want[owner], c.Name)
		}
	}
	var updates []structs.AssignmentUpdate
	for _, n := range nodes {
		names := want[n.ID]
		slices.Sort(names)
		cur, err := state.AssignmentByNode(nil, n.ID)
		if err != nil {
			return err
		}
		if (cur == nil && len(names) == 0) || (cur != nil && slices.Equal(cur.Configs, names)) {
			continue
		}
		updates = append(updates, structs.AssignmentUpdate{NodeID: n.ID, Configs: names})
	}
	return s.submitAssignments(eval, structs.AssignConfigs, updates, submitting)
}

// rendezvousOwner is the node that scores highest for key.
func rendezvousOwner(key string, nodes []string) string {
	var best string
	var bestScore uint64
	for _, n := range nodes {
		sum := sha256.Sum256([]byte(key + "\x00" + n))
		if score := binary.BigEndian.Uint64(sum[:8]); best == "" || score > bestScore {
			best, bestScore = n, score
		}
	}
	return best
}
