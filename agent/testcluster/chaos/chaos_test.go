package chaos

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent/testcluster"
)

func TestMain(m *testing.M) {
	sweepNetLabs()
	code := m.Run()
	testcluster.Cleanup()
	os.Exit(code)
}

// Knobs, all optional:
//
//	CHAOS_LONG=1        run the long form (TestChaos_Long; `make chaos`)
//	CHAOS_RUNS=n        number of runs
//	CHAOS_DURATION=30s  workload length of each run
//	CHAOS_SEED=n        seed of the first run (the next ones add 1)
//	CHAOS_OUT=dir       where visualizations of violations and results.md go
//	CHAOS_FAULTS=a,b    fault kinds (default: all; see allFaults)
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func faultKinds(t *testing.T) []string {
	v := os.Getenv("CHAOS_FAULTS")
	if v == "" {
		return allFaults
	}
	kinds := strings.Split(v, ",")
	for _, k := range kinds {
		if !slices.Contains(allFaults, k) {
			t.Fatalf("CHAOS_FAULTS: unknown fault %q (known: %v)", k, allFaults)
		}
	}
	return kinds
}

func firstSeed() uint64 {
	if v, err := strconv.ParseUint(os.Getenv("CHAOS_SEED"), 10, 64); err == nil {
		return v
	}
	return uint64(time.Now().UnixNano())
}

// TestChaos_Short is the form `make test` runs: two short runs with every
// fault kind.
func TestChaos_Short(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection runs real clusters")
	}
	if os.Getenv("CHAOS_LONG") != "" {
		t.Skip("CHAOS_LONG set: TestChaos_Long runs instead")
	}
	runAll(t, envInt("CHAOS_RUNS", 2), envDuration("CHAOS_DURATION", 15*time.Second), time.Minute)
}

// TestChaos_Long is `make chaos`: 20 runs of 30 s and a results table.
func TestChaos_Long(t *testing.T) {
	if os.Getenv("CHAOS_LONG") == "" {
		t.Skip("set CHAOS_LONG=1 (make chaos) for the long form")
	}
	runAll(t, envInt("CHAOS_RUNS", 20), envDuration("CHAOS_DURATION", 30*time.Second), 5*time.Minute)
}

// runAll runs the runs one after another (each its own subtest, cluster
// and seed) and prints the table.
func runAll(t *testing.T, runs int, d time.Duration, checkTimeout time.Duration) {
	seed := firstSeed()
	var rows []*runStats
	for i := 1; i <= runs; i++ {
		cfg := runConfig{run: i, seed: seed + uint64(i-1), duration: d, clients: 6, keys: 3,
			faults: faultKinds(t), checkTimeout: checkTimeout}
		t.Run(fmt.Sprintf("run%d", i), func(t *testing.T) {
			rows = append(rows, runOnce(t, cfg))
		})
	}
	var b strings.Builder
	printTable(&b, rows)
	t.Logf("\n%s", b.String())
	fmt.Print(b.String())
	if d := os.Getenv("CHAOS_OUT"); d != "" {
		p := filepath.Join(d, "results.md")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Errorf("writing %s: %v", p, err)
		} else if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Errorf("writing %s: %v", p, err)
		} else {
			fmt.Printf("table written to %s\n", p)
		}
	}
}

// printTable writes the results as a Markdown table, ready for README.
func printTable(w io.Writer, rows []*runStats) {
	fmt.Fprintln(w, "| run | seed | ops | writes ok/indeterminate | reads | faults injected | linearizable | lost writes | applied twice | unconverged | restart failures |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	total := &runStats{Faults: map[string]int{}}
	bad := 0
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %d | %d | %d/%d | %d | %s | %s | %d | %d | %d | %d |\n", r.Run, r.Seed, r.Ops,
			r.WritesOK, r.WritesIndeterminate, r.Reads, r.faults(), r.Linearizable, r.LostWrites, r.AppliedTwice, r.Unconverged, r.RestartFailures)
		total.Ops += r.Ops
		total.LostWrites += r.LostWrites
		total.AppliedTwice += r.AppliedTwice
		total.Unconverged += r.Unconverged
		total.RestartFailures += r.RestartFailures
		if r.Linearizable != "yes" {
			bad++
		}
	}
	fmt.Fprintf(w, "\n%d runs, %d ops: %d not linearizable (or unknown), %d lost writes, %d applied twice, %d unconverged, %d restart failures\n",
		len(rows), total.Ops, bad, total.LostWrites, total.AppliedTwice, total.Unconverged, total.RestartFailures)
	for _, r := range rows {
		if r.Visualization != "" {
			fmt.Fprintf(w, "run %d (seed %d) visualization: %s\n", r.Run, r.Seed, r.Visualization)
		}
	}
}
