package testcluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchWindow is how long each load step runs (PIPELINE_BENCH_SECONDS
// overrides it, e.g. 2 for a quick look).
func benchWindow() time.Duration {
	var s int
	if _, err := fmt.Sscan(os.Getenv("PIPELINE_BENCH_SECONDS"), &s); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 10 * time.Second
}

// loadResult is one load step's figures.
type loadResult struct {
	name      string
	conc      int
	ok, fail  int64
	elapsed   time.Duration
	latencies []time.Duration
	cpu       cpuTimes
	srvCPU    time.Duration // the servers' own CPU time over the step
}

// cpuTimes is the machine's CPU time by kind, from /proc/stat (zero where
// it cannot be read), for a benchmark step's busy and iowait share.
type cpuTimes struct{ busy, iowait, total float64 }

func readCPUTimes() cpuTimes {
	buf, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(buf), "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		return cpuTimes{}
	}
	var t cpuTimes
	for i, f := range fields[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		t.total += v
		switch i {
		case 3: // idle
		case 4:
			t.iowait += v
		default:
			t.busy += v
		}
	}
	return t
}

// procCPU is the user plus system CPU time the processes have used, from
// /proc/<pid>/stat (a process that cannot be read counts nothing).
func procCPU(pids []int) time.Duration {
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	var sum time.Duration
	for _, pid := range pids {
		buf, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the command name, which may hold spaces: state is
		// the first, utime the 12th and stime the 13th.
		i := bytes.LastIndexByte(buf, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(buf[i+1:]))
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		sum += time.Duration(utime+stime) * tick
	}
	return sum
}

func (t cpuTimes) sub(o cpuTimes) cpuTimes {
	return cpuTimes{busy: t.busy - o.busy, iowait: t.iowait - o.iowait, total: t.total - o.total}
}

func (r *loadResult) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r *loadResult) row() string {
	slices.Sort(r.latencies)
	pct := func(p float64) time.Duration {
		if len(r.latencies) == 0 {
			return 0
		}
		return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	}
	busy, iowait, perOp := "-", "-", "-"
	if r.cpu.total > 0 {
		busy = fmt.Sprintf("%.0f%%", 100*r.cpu.busy/r.cpu.total)
		iowait = fmt.Sprintf("%.0f%%", 100*r.cpu.iowait/r.cpu.total)
	}
	if r.ok > 0 && r.srvCPU > 0 {
		perOp = fmt.Sprintf("%dus", (r.srvCPU / time.Duration(r.ok)).Microseconds())
	}
	return fmt.Sprintf("%-22s %4d %10.0f %10s %10s %7d %6s %7s %8s", r.name, r.conc,
		r.rate(), pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), r.fail,
		busy, iowait, perOp)
}

// runLoad calls do from conc goroutines for the window; do returns
// whether the call succeeded. pids are the serving processes, whose CPU
// time the step records.
func runLoad(name string, conc int, window time.Duration, pids []int, do func(worker int, i int64) bool) *loadResult {
	res := &loadResult{name: name, conc: conc}
	var n atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	cpu0, srv0 := readCPUTimes(), procCPU(pids)
	start := time.Now()
	deadline := start.Add(window)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var lat []time.Duration
			var ok, fail int64
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if do(w, n.Add(1)) {
					ok++
					lat = append(lat, time.Since(t0))
				} else {
					fail++
				}
			}
			mu.Lock()
			res.ok += ok
			res.fail += fail
			res.latencies = append(res.latencies, lat...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.cpu = readCPUTimes().sub(cpu0)
	res.srvCPU = procCPU(pids) - srv0
	return res
}

// BenchmarkPipelineAPI drives a 3-server loopback cluster of real
// processes over HTTP: UpsertPipeline with ~1 KiB contents and unique
// names at concurrency 1, 16 and 64, each call to the next of the three
// servers (two of three land on a follower, whatever the concurrency),
// then with one writer through the leader only and through a follower
// only, then GetPipeline at concurrency 64, default (consistent, through
// the leader) and ?stale (any server). It prints requests/s, p50, p99 and the
// servers' CPU per call, once per raft log backend (server {
// raft_logstore { backend } }).
func BenchmarkPipelineAPI(b *testing.B) {
	for _, backend := range []string{"wal", "boltdb"} {
		benchPipelineAPI(b, backend)
	}
}

func benchPipelineAPI(b *testing.B, backend string) {
	pc := startPipelineCluster(b, backend)
	defer pc.stop()
	window := benchWindow()
	var seq atomic.Int64 // names unique across the steps
	var rows []*loadResult
	for _, conc := range []int{1, 16, 64} {
		rows = append(rows, runLoad("UpsertPipeline", conc, window, pc.pids(), func(_ int, i int64) bool {
			return pc.upsert(int(i%3), seq.Add(1))
		}))
	}
	// One writer through the leader only and through a follower only: the
	// forwarding hop's cost.
	leader, follower, l := 0, 0, pc.WaitForLeader()
	for i, s := range pc.Servers {
		if s == l {
			leader = i
		} else {
			follower = i
		}
	}
	for _, step := range []struct {
		name   string
		server int
	}{{"Upsert via leader", leader}, {"Upsert via follower", follower}} {
		rows = append(rows, runLoad(step.name, 1, window, pc.pids(), func(int, int64) bool {
			return pc.upsert(step.server, seq.Add(1))
		}))
	}
	get := func(query string) func(int, int64) bool {
		return func(_ int, i int64) bool {
			body := []byte(fmt.Sprintf(`{"id":"%d"}`, i%1000+1))
			return pc.call(pc.Servers[i%3], "GetPipeline", query, body)
		}
	}
	rows = append(rows, runLoad("GetPipeline", 64, window, pc.pids(), get("")))
	rows = append(rows, runLoad("GetPipeline ?stale", 64, window, pc.pids(), get("?stale")))

	printLoadTable(fmt.Sprintf("3 servers on loopback, raft log store %s, %s per step, ~1 KiB contents", backend, window), rows)
}

// pipelineCluster is a 3-server cluster with a Pipeline API load client.
type pipelineCluster struct {
	*Cluster
	client   *http.Client
	contents string
}

// startPipelineCluster starts three servers with the given raft log
// backend (stopped by the benchmark's cleanup, or earlier by stop).
func startPipelineCluster(b *testing.B, backend string) *pipelineCluster {
	// enable_debug lets WRITES_CPU_PROFILE take CPU profiles.
	conf := WriteConfig(b, b.TempDir(), "logstore.hcl",
		fmt.Sprintf("enable_debug = true\nserver {\n  raft_logstore {\n    backend = %q\n  }\n}\n", backend))
	return &pipelineCluster{
		Cluster:  New(b, Options{Servers: 3, ServerArgs: []string{"-config", conf}}),
		client:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}},
		contents: strings.Repeat("// padding to one KiB of pipeline contents\n", 24),
	}
}

// pids are the servers' process IDs.
func (pc *pipelineCluster) pids() []int {
	var pids []int
	for _, s := range pc.Servers {
		pids = append(pids, s.PID())
	}
	return pids
}

func (pc *pipelineCluster) stop() {
	for _, s := range pc.Servers {
		s.Stop()
	}
}

// call posts one Connect JSON call and tells whether it answered 200.
func (pc *pipelineCluster) call(a *Agent, method, query string, body []byte) bool {
	req, _ := http.NewRequest("POST", a.URL()+"/pipeline.v1.PipelineService/"+method+query, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := pc.client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == 200
}

// upsert writes the pipeline bench-n through server s.
func (pc *pipelineCluster) upsert(s int, n int64) bool {
	body, _ := json.Marshal(map[string]any{"pipeline": map[string]any{
		"name": fmt.Sprintf("bench-%d", n), "contents": pc.contents, "matchers": []string{"env=prod"}}})
	return pc.call(pc.Servers[s], "UpsertPipeline", "", body)
}

// printLoadTable prints the steps' figures; cpu and iowait are the whole
// machine's (servers and load generator) share during the step, cpu/op the
// serving processes' own CPU time per successful call.
func printLoadTable(title string, rows []*loadResult) {
	fmt.Printf("\n%s\n", title)
	fmt.Printf("%-22s %4s %10s %10s %10s %7s %6s %7s %8s\n", "call", "conc", "req/s", "p50", "p99", "errors", "cpu", "iowait", "cpu/op")
	for _, r := range rows {
		fmt.Println(r.row())
	}
}
