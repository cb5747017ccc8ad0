package chaos

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/nomadlike/nomadlike/agent/testcluster"
	"github.com/nomadlike/nomadlike/api"
)

// serverConfig makes snapshots and log compaction happen within a run, so
// that restarts go through snapshot restore and a truncated log as well
// as plain log replay.
const serverConfig = `
server {
  raft_snapshot_threshold = 64
  raft_snapshot_interval  = "1s"
  raft_trailing_logs      = 32
  revision_retention      = 0 # every revision: the duplicate check reads them all
}
`

// runConfig shapes one run.
type runConfig struct {
	run          int
	seed         uint64
	duration     time.Duration // of the workload and the nemesis
	clients      int
	keys         int
	faults       []string
	checkTimeout time.Duration // porcupine's budget; past it the verdict is "unknown"
}

// runOnce starts a 3-server cluster, runs the workload against the
// nemesis, heals, and checks the history, the final values, convergence
// and restarts. Problems are test errors; the stats are the table row.
func runOnce(t *testing.T, cfg runConfig) *runStats {
	st := &runStats{Run: cfg.run, Seed: cfg.seed, Faults: map[string]int{}}
	t.Logf("chaos run %d: seed %d (replay with CHAOS_SEED=%d), %s, %d clients, %d keys, faults %v",
		cfg.run, cfg.seed, cfg.seed, cfg.duration, cfg.clients, cfg.keys, cfg.faults)
	dir := t.TempDir()
	opts := testcluster.Options{Servers: 3,
		ServerArgs: []string{"-config", testcluster.WriteConfig(t, dir, "chaos.hcl", serverConfig)}}
	lab, faults := partitionLab(t, cfg)
	if lab != nil {
		opts.PrepareServer = lab.prepare
	}
	c := testcluster.New(t, opts)
	rng := rand.New(rand.NewPCG(cfg.seed, 0x6e6f6d61646c696b))
	nem := &nemesis{t: t, c: c, rng: rng, faults: faults, stats: st, lab: lab, failed: map[*testcluster.Agent]bool{}}
	rec := newRecorder()
	keys := setupKeys(t, nem, rec, cfg.keys)

	// The workload.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < cfg.clients; i++ {
		cl := &client{id: i, rng: rand.New(rand.NewPCG(cfg.seed, uint64(i+1))), rec: rec, keys: keys,
			servers: c.Servers, stats: st}
		for _, s := range c.Servers {
			cl.apis = append(cl.apis, apiClient(s, opTimeout))
		}
		wg.Add(1)
		go func() { defer wg.Done(); cl.run(ctx) }()
	}
	// The nemesis: a quiet spell, a fault, and again, until time is up.
	for ctx.Err() == nil {
		nem.hold(500*time.Millisecond, 2*time.Second)
		if ctx.Err() == nil {
			nem.step()
		}
	}
	wg.Wait()
	nem.heal()

	// After healing: the final value of every key, read linearizably.
	final := finalReads(t, nem, rec, keys)
	ops := rec.history()
	end := rec.now() + 1
	st.Ops = len(ops)
	checkHistory(t, cfg, st, ops, end)
	lost, why := lostWrites(ops, final)
	st.LostWrites = lost
	if lost > 0 {
		t.Errorf("run %d seed %d: %d acknowledged writes lost:\n%s", cfg.run, cfg.seed, lost, truncate(why, 20))
	}
	checkConvergence(t, nem, keys, ops, final, st)
	checkAppliedOnce(t, nem, keys, st)
	return st
}

// partitionLab builds the namespaces when the run asks for partitions;
// where the machine does not allow them, the run goes on without those
// faults and says so.
func partitionLab(t *testing.T, cfg runConfig) (*netLab, []string) {
	var faults []string
	wantsPartitions := false
	for _, f := range cfg.faults {
		if slices.Contains(partitionFaults, f) {
			wantsPartitions = true
		} else {
			faults = append(faults, f)
		}
	}
	if !wantsPartitions {
		return nil, cfg.faults
	}
	lab, err := newNetLab(t, cfg.run, 3)
	if err != nil {
		t.Logf("no network partitions in this run: %v", err)
		if len(faults) == 0 {
			t.Skip("only partition faults were asked for")
		}
		return nil, faults
	}
	return lab, cfg.faults
}

// setupKeys creates the registers through the leader and records each
// creation as an acknowledged write, so the model starts from "".
func setupKeys(t *testing.T, nem *nemesis, rec *recorder, n int) []register {
	leader := nem.waitLeader(60 * time.Second)
	if leader == nil {
		t.Fatal("no leader")
	}
	a := apiClient(leader, opTimeout)
	var keys []register
	proc := rec.newProc()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("k%d", i)
		o := op{proc: proc, key: name, write: true, value: "// init-" + name, server: leader.Name, call: rec.now()}
		p, _, err := a.Pipelines().Upsert(&api.Pipeline{Name: name, Contents: o.value}, nil)
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		o.ret = rec.now()
		rec.add(o)
		keys = append(keys, register{name: name, id: p.ID})
	}
	return keys
}

// finalReads reads every key with the default consistency through the
// leader after healing, and records the reads in the history too.
func finalReads(t *testing.T, nem *nemesis, rec *recorder, keys []register) map[string]string {
	final := map[string]string{}
	proc := rec.newProc()
	deadline := time.Now().Add(60 * time.Second)
	for _, k := range keys {
		for {
			leader := nem.waitLeader(20 * time.Second)
			if leader == nil {
				t.Fatalf("no leader after healing")
			}
			o := op{proc: proc, key: k.name, server: leader.Name, call: rec.now()}
			p, _, err := apiClient(leader, opTimeout).Pipelines().Get(k.id, nil)
			o.ret = rec.now()
			if err == nil {
				o.value = p.Contents
				rec.add(o)
				final[k.name] = p.Contents
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("final read of %s: %v", k.name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return final
}

// checkHistory runs porcupine and, on a violation, writes its HTML
// visualization and names the ops.
func checkHistory(t *testing.T, cfg runConfig, st *runStats, ops []op, end int64) {
	start := time.Now()
	res := check(ops, end, cfg.checkTimeout)
	t.Logf("run %d: %d ops checked in %s (%d unread indeterminate writes pruned): %s",
		cfg.run, len(res.ops), time.Since(start).Round(time.Millisecond), res.pruned, res.result)
	switch res.result {
	case porcupine.Ok:
		st.Linearizable = "yes"
		return
	case porcupine.Unknown:
		st.Linearizable = "unknown"
		t.Errorf("run %d seed %d: the checker timed out after %s", cfg.run, cfg.seed, cfg.checkTimeout)
		return
	}
	st.Linearizable = "no"
	path := filepath.Join(outDir(t), fmt.Sprintf("chaos-run%d-seed%d.html", cfg.run, cfg.seed))
	if err := porcupine.VisualizePath(registerModel, res.info, path); err != nil {
		t.Logf("writing the visualization: %v", err)
	} else {
		st.Visualization = path
	}
	t.Errorf("run %d seed %d: history is NOT linearizable; visualization: %s\n%s",
		cfg.run, cfg.seed, path, truncate(res.explain(), 40))
}

// checkConvergence waits (bounded) until every live server's ?stale read
// of every key equals the leader's current value. That value may differ
// from the final read's when an indeterminate write lands after it (its
// request was still in the servers): allowed, and said; a value of an
// acknowledged write coming back then is a lost write.
func checkConvergence(t *testing.T, nem *nemesis, keys []register, ops []op, final map[string]string, st *runStats) {
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range keys {
		var ref string
		var diff []string
		for {
			ref, diff = compareReplicas(nem, k)
			if len(diff) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(diff) > 0 {
			st.Unconverged += len(diff)
			t.Errorf("key %s: replicas differ after 30 s: %s; raft: %s", k.name, strings.Join(diff, ", "), raftProgress(nem))
			continue
		}
		if ref == final[k.name] {
			continue
		}
		t.Logf("key %s changed after the final read: %q, now %q, written by %s", k.name, final[k.name], ref, writerOf(ops, k.name, ref))
		if lost, why := lostWrites(ops, map[string]string{k.name: ref}); lost > 0 {
			st.LostWrites += lost
			t.Errorf("run %d seed %d: %d acknowledged writes lost after the final read:\n%s", st.Run, st.Seed, lost, truncate(why, 20))
		}
	}
}

// compareReplicas reads key k through the leader (default consistency)
// and from every live server with ?stale, and lists the servers that
// disagree with the leader (or cannot answer).
func compareReplicas(nem *nemesis, k register) (string, []string) {
	leader := nem.leader()
	if leader == nil {
		return "", []string{"no leader"}
	}
	p, _, err := apiClient(leader, 2*time.Second).Pipelines().Get(k.id, nil)
	if err != nil {
		return "", []string{fmt.Sprintf("leader %s: %v", leader.Name, err)}
	}
	var diff []string
	for _, s := range nem.live() {
		q, _, err := apiClient(s, 2*time.Second).Pipelines().Get(k.id, &api.QueryOptions{AllowStale: true})
		switch {
		case err != nil:
			diff = append(diff, fmt.Sprintf("%s: %v", s.Name, err))
		case q.Contents != p.Contents:
			diff = append(diff, fmt.Sprintf("%s has %q, leader %s has %q", s.Name, q.Contents, leader.Name, p.Contents))
		}
	}
	return p.Contents, diff
}

// writerOf describes the write of value v to key.
func writerOf(ops []op, key, v string) string {
	for _, o := range ops {
		if o.write && o.key == key && o.value == v {
			return "[" + o.String() + "]"
		}
	}
	return "no recorded write"
}

// raftProgress says how far each live server's raft has got, to tell a
// follower that does not receive the log from one that does not apply it.
func raftProgress(nem *nemesis) string {
	var parts []string
	for _, s := range nem.live() {
		self, err := apiClient(s, 2*time.Second).Agent().Self()
		if err != nil {
			parts = append(parts, fmt.Sprintf("%s: %v", s.Name, err))
			continue
		}
		r := self.Stats["raft"]
		parts = append(parts, fmt.Sprintf("%s %s term=%s last_log=%s commit=%s applied=%s last_contact=%s",
			s.Name, r["state"], r["term"], r["last_log_index"], r["commit_index"], r["applied_index"], r["last_contact"]))
	}
	return strings.Join(parts, "; ")
}

// checkAppliedOnce reads every key's revision history through the leader:
// each write's value is unique, so a value in two revisions is a write
// applied twice (issue 12's first defect), whether or not a read saw it.
func checkAppliedOnce(t *testing.T, nem *nemesis, keys []register, st *runStats) {
	leader := nem.waitLeader(20 * time.Second)
	if leader == nil {
		t.Errorf("no leader to read revisions from")
		return
	}
	a := apiClient(leader, 10*time.Second)
	for _, k := range keys {
		revs, _, err := a.Pipelines().ListRevisions(k.id, nil)
		if err != nil {
			t.Errorf("revisions of %s: %v", k.name, err)
			continue
		}
		var contents []string
		for _, r := range revs {
			if r.Snapshot != nil && r.Operation != api.RevisionDelete {
				contents = append(contents, r.Snapshot.Contents)
			}
		}
		n, why := appliedTwice(k.name, contents)
		st.AppliedTwice += n
		if n > 0 {
			t.Errorf("run %d seed %d: %d writes applied more than once:\n%s", st.Run, st.Seed, n, truncate(why, 20))
		}
	}
}

// outDir is where visualizations go: $CHAOS_OUT, else the test's artifact
// dir when go test runs with -artifacts, else a kept temporary dir.
func outDir(t *testing.T) string {
	if d := os.Getenv("CHAOS_OUT"); d != "" {
		if err := os.MkdirAll(d, 0o755); err == nil {
			return d
		}
	}
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	d, err := os.MkdirTemp("", "nomadlike-chaos-")
	if err != nil {
		return os.TempDir()
	}
	return d
}
