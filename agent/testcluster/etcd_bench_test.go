package testcluster

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
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

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// BenchmarkWritesVsEtcd is the yardstick for nomadlike's write path: a
// 3-member etcd cluster (Debian's etcd-server, `apt-get install
// etcd-server`) putting 1 KiB values with unique keys through its HTTP/JSON
// gateway (/v3/kv/put), against 3-server nomadlike clusters (raft log on
// raft-wal, the default, and on BoltDB) upserting ~1 KiB pipelines with
// unique names. Calls go to the three members in turn, so that two of
// three land on a follower whatever the concurrency; with one writer bound
// to one member, where the leader happened to be would decide the figure.
// Each system runs alone on the machine: in every round each one is
// started fresh, warmed up, driven at 1, 16 and 64 writers and stopped
// before the next starts, and the order rotates from round to round so
// that the machine's drift does not favour whichever goes first. (A
// cluster left idle beside the one being measured is not idle: its GC and
// raft snapshots take the CPU the measured one needs.) It prints every
// step, then per concurrency each system's median writes/s and the median
// and range of its ratio to etcd's in the same round: the systems of a
// round run within a minute and a half of each other, so the ratio is paired, and the
// machine's slower swings, which move whole runs by a third on a shared
// VM, cancel out of it. Skipped when no etcd binary is on PATH.
func BenchmarkWritesVsEtcd(b *testing.B) {
	if _, err := exec.LookPath("etcd"); err != nil {
		b.Skip("etcd not installed (apt-get install etcd-server)")
	}
	var seq atomic.Int64 // keys and names unique across every step
	type system struct {
		name  string
		start func() (pids []int, write func(w int, i int64) bool, stop func())
	}
	systems := []system{{"etcd 3.4 gateway put", func() ([]int, func(int, int64) bool, func()) {
		put, _, pids, stop, _ := startEtcd(b)
		return pids, func(_ int, i int64) bool { return put(int(i%3), seq.Add(1)) }, stop
	}}}
	// WRITES_CPU_PROFILE=<dir> saves CPU profiles of the leader and of a
	// follower of the raft-wal cluster during its 64-writer step in the
	// first round (go tool pprof -top <dir>/leader.pprof).
	profileDir := os.Getenv("WRITES_CPU_PROFILE")
	var profiled *pipelineCluster
	for _, backend := range []string{"wal", "boltdb"} {
		systems = append(systems, system{"nomadlike " + backend, func() ([]int, func(int, int64) bool, func()) {
			pc := startPipelineCluster(b, backend)
			if backend == "wal" && profileDir != "" && profiled == nil {
				profiled = pc
			}
			return pc.pids(), func(_ int, i int64) bool { return pc.upsert(int(i%3), seq.Add(1)) }, pc.stop
		}})
	}

	const rounds = 5
	window := benchWindow() / 2
	concs := []int{1, 16, 64}
	rates := map[string]map[int][]float64{}
	var rows []*loadResult
	for r := 0; r < rounds; r++ {
		for i := range systems {
			sys := systems[(i+r)%len(systems)]
			pids, write, stop := sys.start()
			runLoad("warm-up", 16, 2*time.Second, pids, write)
			for _, conc := range concs {
				var profiles chan error
				if r == 0 && conc == 64 && profiled != nil && sys.name == "nomadlike wal" {
					profiles = profileServers(profiled.Cluster, profileDir, window-time.Second)
				}
				res := runLoad(sys.name, conc, window, pids, write)
				if profiles != nil {
					if err := <-profiles; err != nil {
						b.Fatal(err)
					}
				}
				rows = append(rows, res)
				if rates[sys.name] == nil {
					rates[sys.name] = map[int][]float64{}
				}
				rates[sys.name][conc] = append(rates[sys.name][conc], res.rate())
			}
			stop()
		}
	}
	printLoadTable(fmt.Sprintf("%d rounds, each system alone and fresh, %s per step", rounds, window), rows)

	fmt.Printf("\n%-22s %4s %10s %16s %8s %12s\n", "writes", "conc", "median/s", "min-max", "vs etcd", "range")
	for _, conc := range concs {
		base := rates[systems[0].name][conc]
		for _, sys := range systems {
			rs := rates[sys.name][conc]
			ratios := make([]float64, len(rs))
			for i := range rs {
				if base[i] > 0 {
					ratios[i] = 100 * rs[i] / base[i]
				}
			}
			fmt.Printf("%-22s %4d %10.0f %16s %7.0f%% %12s\n", sys.name, conc, median(rs),
				fmt.Sprintf("%.0f-%.0f", slices.Min(rs), slices.Max(rs)), median(ratios),
				fmt.Sprintf("%.0f-%.0f%%", slices.Min(ratios), slices.Max(ratios)))
		}
	}
}

// profileServers saves CPU profiles of c's leader and of one follower,
// taken together over the next d, as leader.pprof and follower.pprof in
// dir. The servers need enable_debug.
func profileServers(c *Cluster, dir string, d time.Duration) chan error {
	done := make(chan error, 1)
	leader, followers := c.leaderAndFollowers()
	follower := followers[0]
	go func() {
		errs := make(chan error, 2)
		for name, a := range map[string]*Agent{"leader": leader, "follower": follower} {
			go func() {
				prof, err := a.API().Agent().CPUProfile(api.PprofOptions{Seconds: int(d.Seconds())}, nil)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, name+".pprof"), prof, 0o644)
				}
				errs <- err
			}()
		}
		done <- errors.Join(<-errs, <-errs)
	}()
	return done
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// startEtcd runs three etcd members on loopback and returns a put of a
// 1 KiB value under key k through member m, a range read of key k through
// member m (linearizable, or serializable: the member's own state), the
// members' process IDs, a stop that kills them (the benchmark's cleanup
// does too) and the members' client URLs. It skips the benchmark when etcd is not installed.
func startEtcd(b *testing.B) (put func(m int, k int64) bool, get func(m int, k int64, serializable bool) bool, pids []int, stop func(),
	clients []string) {
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
	var cmds []*exec.Cmd
	var logs []*os.File
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
		cmds, logs = append(cmds, cmd), append(logs, logf)
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	}
	stop = func() {
		for i, cmd := range cmds {
			cmd.Process.Kill()
			cmd.Wait()
			logs[i].Close()
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}
	value := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("// padding to one KiB of pipeline contents\n", 24)))
	post := func(m int, path string, body any) bool {
		buf, _ := json.Marshal(body)
		resp, err := client.Post(clients[m]+path, "application/json", bytes.NewReader(buf))
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	key := func(k int64) string { return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("bench-%d", k))) }
	put = func(m int, k int64) bool {
		return post(m, "/v3/kv/put", map[string]string{"key": key(k), "value": value})
	}
	get = func(m int, k int64, serializable bool) bool {
		return post(m, "/v3/kv/range", map[string]any{"key": key(k), "serializable": serializable})
	}
	testutil.WaitForResult(b, 30*time.Second, func() error {
		for m := range clients {
			if !put(m, -1) {
				return fmt.Errorf("etcd member %d not ready", m)
			}
		}
		return nil
	})
	return put, get, pids, stop, clients
}
