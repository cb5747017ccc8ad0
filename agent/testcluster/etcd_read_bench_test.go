package testcluster

import (
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// BenchmarkReadsVsEtcd measures what linearizable reads cost against
// etcd's, on the same machine and in the same run: nomadlike's default
// GetPipeline (the leader answers after a quorum confirms its leadership,
// checks shared by concurrent reads) against etcd's default, linearizable
// range (ReadIndex), and `?stale` against etcd's serializable range (each
// member answers from its own state). 1,000 keys of ~1 KiB are written
// first; 64 readers then read them in turn through the three members in
// turn. As in BenchmarkWritesVsEtcd each system runs alone and fresh, the
// order rotates per round, and the ratio is the median of the per-round
// ratios. Skipped when no etcd binary is on PATH (apt-get install
// etcd-server).
func BenchmarkReadsVsEtcd(b *testing.B) {
	if _, err := exec.LookPath("etcd"); err != nil {
		b.Skip("etcd not installed (apt-get install etcd-server)")
	}
	const keys, conc, rounds = 1000, 64, 3
	type reader struct {
		name string
		read func(w int, i int64) bool
	}
	type system struct {
		name  string
		start func() (pids []int, readers []reader, stop func())
	}
	systems := []system{
		{"etcd 3.4", func() ([]int, []reader, func()) {
			put, get, pids, stop, _ := startEtcd(b)
			for k := int64(1); k <= keys; k++ {
				put(int(k%3), k)
			}
			return pids, []reader{
				{"etcd range (linearizable)", func(_ int, i int64) bool { return get(int(i%3), i%keys+1, false) }},
				{"etcd range serializable", func(_ int, i int64) bool { return get(int(i%3), i%keys+1, true) }},
			}, stop
		}},
		{"nomadlike", func() ([]int, []reader, func()) {
			pc := startPipelineCluster(b, "wal")
			for k := int64(1); k <= keys; k++ {
				for !pc.upsert(int(k%3), k) {
				}
			}
			get := func(query string) func(int, int64) bool {
				return func(_ int, i int64) bool {
					body := []byte(fmt.Sprintf(`{"id":"%d"}`, i%keys+1))
					return pc.call(pc.Servers[i%3], "GetPipeline", query, body)
				}
			}
			return pc.pids(), []reader{
				{"GetPipeline (default)", get("")},
				{"GetPipeline ?stale", get("?stale")},
			}, pc.stop
		}},
	}
	window := benchWindow() / 2
	rates := map[string][]float64{}
	var rows []*loadResult
	for r := 0; r < rounds; r++ {
		for i := range systems {
			sys := systems[(i+r)%len(systems)]
			pids, readers, stop := sys.start()
			runLoad("warm-up", 16, 2*time.Second, pids, readers[0].read)
			for _, rd := range readers {
				res := runLoad(rd.name, conc, window, pids, rd.read)
				rows = append(rows, res)
				rates[rd.name] = append(rates[rd.name], res.rate())
			}
			stop()
		}
	}
	printLoadTable(fmt.Sprintf("%d rounds, each system alone and fresh, %s per step, %d readers", rounds, window, conc), rows)

	fmt.Printf("\n%-28s %10s %16s %10s %12s\n", "reads (64 readers)", "median/s", "min-max", "vs etcd", "range")
	for _, pair := range [][2]string{
		{"GetPipeline (default)", "etcd range (linearizable)"},
		{"GetPipeline ?stale", "etcd range serializable"},
	} {
		for _, name := range []string{pair[1], pair[0]} {
			rs, base := rates[name], rates[pair[1]]
			ratios := make([]float64, len(rs))
			for i := range rs {
				if base[i] > 0 {
					ratios[i] = 100 * rs[i] / base[i]
				}
			}
			fmt.Printf("%-28s %10.0f %16s %9.0f%% %12s\n", name, median(rs),
				fmt.Sprintf("%.0f-%.0f", slices.Min(rs), slices.Max(rs)), median(ratios),
				fmt.Sprintf("%.0f-%.0f%%", slices.Min(ratios), slices.Max(ratios)))
		}
	}
}
