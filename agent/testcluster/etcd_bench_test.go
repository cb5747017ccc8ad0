package testcluster

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// BenchmarkWritesVsEtcd is the yardstick for nomadlike's write path: a
// 3-member etcd cluster (Debian's etcd-server, `apt-get install
// etcd-server`) putting 1 KiB values with unique keys through its HTTP/JSON
// gateway (/v3/kv/put), against two 3-server nomadlike clusters (raft log
// on raft-wal, the default, and on BoltDB) upserting ~1 KiB pipelines with unique names,
// each spread over its three members. All three clusters run at once,
// idle but for the one being measured, and the steps are interleaved
// (etcd, wal, boltdb, three rounds per concurrency) so that the machine's
// drift over the run does not favour whichever goes first. It prints every
// step, then per concurrency the median writes/s and its ratio to etcd's.
// Skipped when no etcd binary is on PATH.
func BenchmarkWritesVsEtcd(b *testing.B) {
	put, etcdPIDs := startEtcd(b)
	var seq atomic.Int64 // keys and names unique across every step
	type system struct {
		name  string
		pids  []int
		write func(w int, i int64) bool
	}
	systems := []system{
		{"etcd 3.4 gateway put", etcdPIDs, func(w int, _ int64) bool { return put(w, seq.Add(1)) }},
	}
	for _, backend := range []string{"wal", "boltdb"} {
		pc := startPipelineCluster(b, backend)
		systems = append(systems, system{"nomadlike " + backend, pc.pids(),
			func(w int, _ int64) bool { return pc.upsert(w, seq.Add(1)) }})
	}
	for _, sys := range systems {
		runLoad("warm-up", 16, 2*time.Second, sys.pids, sys.write)
	}

	const rounds = 3
	window := benchWindow() / 2
	concs := []int{1, 16, 64}
	rates := map[string]map[int][]float64{}
	var rows []*loadResult
	for _, conc := range concs {
		for r := 0; r < rounds; r++ {
			for _, sys := range systems {
				res := runLoad(sys.name, conc, window, sys.pids, sys.write)
				rows = append(rows, res)
				if rates[sys.name] == nil {
					rates[sys.name] = map[int][]float64{}
				}
				rates[sys.name][conc] = append(rates[sys.name][conc], res.rate())
			}
		}
	}
	printLoadTable(fmt.Sprintf("interleaved: %d rounds of %s per system and concurrency", rounds, window), rows)

	fmt.Printf("\n%-22s %4s %10s %16s %8s\n", "writes", "conc", "median/s", "min-max", "vs etcd")
	for _, conc := range concs {
		base := median(rates[systems[0].name][conc])
		for _, sys := range systems {
			rs := rates[sys.name][conc]
			fmt.Printf("%-22s %4d %10.0f %16s %7.0f%%\n", sys.name, conc, median(rs),
				fmt.Sprintf("%.0f-%.0f", slices.Min(rs), slices.Max(rs)), 100*median(rs)/base)
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// startEtcd runs three etcd members on loopback (stopped by the benchmark's
// cleanup) and returns a put of a 1 KiB value under key i through member
// w%3, and the members' process IDs. It skips the benchmark when etcd is
// not installed.
func startEtcd(b *testing.B) (func(w int, i int64) bool, []int) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		b.Skip("etcd not installed (apt-get install etcd-server)")
	}
	dir := b.TempDir()
	ports := testutil.FreePorts(b, 6)
	var initial []string
	for i := 0; i < 3; i++ {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	var clients []string
	var pids []int
	for i := 0; i < 3; i++ {
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		clients = append(clients, client)
		cmd := exec.Command(bin, "--name", fmt.Sprintf("e%d", i), "--data-dir", filepath.Join(dir, fmt.Sprint(i)),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--log-level", "error")
		logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("e%d.log", i)))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}
	value := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("// padding to one KiB of pipeline contents\n", 24)))
	put := func(w int, i int64) bool {
		body, _ := json.Marshal(map[string]string{
			"key":   base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("bench-%d", i))),
			"value": value,
		})
		resp, err := client.Post(clients[w%3]+"/v3/kv/put", "application/json", bytes.NewReader(body))
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	testutil.WaitForResult(b, 30*time.Second, func() error {
		for w := range clients {
			if !put(w, -1) {
				return fmt.Errorf("etcd member %d not ready", w)
			}
		}
		return nil
	})
	return put, pids
}
