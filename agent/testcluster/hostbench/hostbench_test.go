package hostbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nomadlike/nomadlike/agent/testcluster"
	"github.com/nomadlike/nomadlike/agent/testcluster/peers"
	"github.com/nomadlike/nomadlike/nomadlike/hostmetrics"
	"github.com/nomadlike/nomadlike/structs"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testcluster.Cleanup()
	os.Exit(code)
}

const (
	// pushInterval is how often every simulated node pushes at the
	// steady rate (a client agent's host metrics interval).
	pushInterval = 10 * time.Second
	// goalPct is issue 14's goal: ingest at this share of the ceiling.
	goalPct = 25
	// variants is how many distinct payloads the nodes rotate through
	// (prime, so that a node's successive pushes differ).
	variants = 257
	// mintConc is how many token requests are in flight at once.
	mintConc = 8
	// backfillConc is the backfill's concurrency.
	backfillConc = 64
	// steadyConc is the steady rate's concurrency (open loop: it only
	// bounds requests in flight).
	steadyConc = 16

	ingestPath = "/api/metrics/ingest"
	cpuQuery   = "max by (node) (nomadlike_host_cpu_usage_ratio)"
	// timeLayout is collectedAt with milliseconds, so that two pushes of
	// one node in the same second are two samples.
	timeLayout  = "2006-01-02T15:04:05.000Z"
	placeholder = "2000-01-01T00:00:00.000Z"
)

// settings are the workload, from the environment.
type settings struct {
	nodes      int
	run        time.Duration // each ceiling and ingest run
	steady     time.Duration
	queries    int
	step       time.Duration // backfill step; 0: chosen from the budget
	budget     time.Duration
	cpuprofile string
}

func readSettings(b *testing.B) settings {
	s := settings{
		nodes:      peers.EnvInt(b, "HOSTBENCH_NODES", 2000),
		run:        peers.EnvDuration(b, "HOSTBENCH_RUN", 5*time.Second),
		steady:     peers.EnvDuration(b, "HOSTBENCH_STEADY", 20*time.Second),
		queries:    peers.EnvInt(b, "HOSTBENCH_QUERIES", 20),
		step:       peers.EnvDuration(b, "HOSTBENCH_BACKFILL_STEP", 0),
		budget:     peers.EnvDuration(b, "HOSTBENCH_BACKFILL_BUDGET", 20*time.Minute),
		cpuprofile: os.Getenv("HOSTBENCH_CPUPROFILE"),
	}
	if s.nodes < 1 || s.run <= 0 || s.steady <= 0 || s.queries < 1 || s.step < 0 || s.budget <= 0 {
		b.Fatalf("bad settings %+v", s)
	}
	return s
}

// BenchmarkHostMetrics starts one server agent process, mints an agent
// token per simulated node, backfills an hour of history, measures the
// ceilings, ingest at c=16 and c=64, the steady rate and PromQL, and
// prints one table.
func BenchmarkHostMetrics(b *testing.B) {
	cfg := readSettings(b)
	load0 := loadAvg()
	pl, err := newPayloads(variants)
	if err != nil {
		b.Fatal(err)
	}
	c := testcluster.New(b, testcluster.Options{Servers: 1, ServerArgs: []string{"-enable-debug"}})
	srv := c.Servers[0]
	pid := srv.PID()
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()

	t0 := time.Now()
	tokens := mintTokens(b, hc, srv.URL(), cfg.nodes)
	mint := time.Since(t0)
	samples := probe(b, hc, srv.URL()+ingestPath, tokens[0], pl)
	fmt.Printf("hostbench: 1 server process (pid %d), %d simulated nodes, tokens minted in %s (%.0f/s at c=%d); payload %.1f KiB, %d samples (%d series per node, %d in all)\n",
		pid, cfg.nodes, mint.Round(time.Millisecond), float64(cfg.nodes)/mint.Seconds(), mintConc,
		float64(len(pl.bodies[0]))/1024, samples, samples, samples*cfg.nodes)

	// History first, so that every later push is newer than it: samples
	// of one series arrive in time order.
	bf := backfill(b, hc, srv, tokens, pl, cfg)

	// The ceilings: the same client, body and token rotation.
	noop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer noop.Close()
	ingestBody := func(i int) ([]byte, string) {
		return pl.body(i, time.Now()), tokens[i%len(tokens)]
	}
	rows := []row{idle(b, pid, cfg.run)}
	ceilings := map[string]map[int]float64{"noop": {}, "agent": {}}
	for _, conc := range []int{16, 64} {
		r := closedLoop(b, hc, noop.URL+ingestPath, http.StatusOK, conc, cfg.run, 0, ingestBody)
		r.what = "ceiling: do-nothing handler (httptest, bench process)"
		ceilings["noop"][conc] = r.rate()
		rows = append(rows, r)
	}
	for _, conc := range []int{16, 64} {
		r := closedLoop(b, hc, srv.URL()+"/v1/agent/health", http.StatusMethodNotAllowed, conc, cfg.run, pid, ingestBody)
		r.what = "ceiling: agent POST /v1/agent/health (405, body drained)"
		ceilings["agent"][conc] = r.rate()
		rows = append(rows, r)
	}
	for _, conc := range []int{16, 64} {
		var prof chan error
		if conc == 64 && cfg.cpuprofile != "" {
			prof = make(chan error, 1)
			go func() { prof <- saveCPUProfile(hc, srv.URL(), cfg.cpuprofile, cfg.run) }()
		}
		r := closedLoop(b, hc, srv.URL()+ingestPath, http.StatusOK, conc, cfg.run, pid, ingestBody)
		r.what = "ingest: POST /api/metrics/ingest"
		r.pctNoop = 100 * r.rate() / ceilings["noop"][conc]
		r.pctAgent = 100 * r.rate() / ceilings["agent"][conc]
		rows = append(rows, r)
		if prof != nil {
			if err := <-prof; err != nil {
				b.Logf("cpu profile: %v", err)
			} else {
				fmt.Printf("hostbench: server CPU profile of the c=64 ingest run in %s\n", cfg.cpuprofile)
			}
		}
	}

	st := steady(b, hc, srv.URL()+ingestPath, tokens, pl, cfg.steady, pid)
	rows = append(rows, st)
	rows = append(rows, bf.row)

	inst, rng := promQL(b, hc, srv.URL(), cfg)
	rows = append(rows, inst, rng)

	fmt.Printf("hostbench: goal: ingest >= %d%% of the do-nothing ceiling at the same c; %d CPUs, load average %s at the start, %s now; every rate is completed requests / wall time\n",
		goalPct, runtime.NumCPU(), load0, loadAvg())
	printTable(os.Stdout, rows)
	fmt.Printf("hostbench: backfill %s .. %s: 3 steps 10s apart (series creation, rate probe), then every %s; %d steps x %d nodes; %s\n",
		bf.from.UTC().Format(time.RFC3339), bf.to.UTC().Format(time.RFC3339), bf.step, bf.steps, cfg.nodes, bf.note)

	for _, r := range rows {
		if r.what == "ingest: POST /api/metrics/ingest" && r.conc == 64 {
			b.ReportMetric(r.rate(), "payloads/s@c64")
			b.ReportMetric(r.pctNoop, "%ceiling@c64")
		}
	}
	b.ReportMetric(st.serverCPU.Seconds()/st.elapsed.Seconds(), "server-cores@steady")
	b.ReportMetric(float64(st.rss)/(1<<20), "server-RSS-MiB@steady")
	b.ReportMetric(float64(pct(inst.lat, 0.5).Microseconds())/1e3, "ms-instant-p50")
	b.ReportMetric(float64(pct(rng.lat, 0.5).Microseconds())/1e3, "ms-range-p50")
}

// payloads are realistic bodies whose collectedAt can be set in place.
type payloads struct {
	bodies [][]byte
	at     []int // offset of collectedAt's value in each body
}

// newPayloads makes n variants of hostmetrics.RealisticPayload: their
// values differ, their series do not. A container's health is a label
// (of nomadlike_container_state) that RealisticPayload draws at random;
// it is fixed here per container, as on hosts whose containers do not
// flap, so that each node has one set of series throughout.
func newPayloads(n int) (*payloads, error) {
	health := [...]string{"healthy", "none", "starting"}
	key := []byte(`"collectedAt":"` + placeholder + `"`)
	p := &payloads{}
	for seed := 1; seed <= n; seed++ {
		var hm structs.HostMetrics
		if err := json.Unmarshal(hostmetrics.RealisticPayload(seed), &hm); err != nil {
			return nil, err
		}
		for i := range hm.Services {
			hm.Services[i].Health = &health[i%len(health)]
		}
		at := placeholder
		hm.CollectedAt = &at
		body, err := json.Marshal(&hm)
		if err != nil {
			return nil, err
		}
		i := bytes.Index(body, key)
		if i < 0 || bytes.Count(body, key) != 1 {
			return nil, fmt.Errorf("payload %d: collectedAt not found once", seed)
		}
		p.bodies = append(p.bodies, body)
		p.at = append(p.at, i+len(`"collectedAt":"`))
	}
	return p, nil
}

// body is variant i (mod n) with collectedAt t, in a new slice: the
// transport may still hold the previous one.
func (p *payloads) body(i int, t time.Time) []byte {
	i %= len(p.bodies)
	b := slices.Clone(p.bodies[i])
	copy(b[p.at[i]:], t.UTC().Format(timeLayout))
	return b
}

func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute,
			DisableCompression: true,
		},
	}
}

// post sends body with token and reads the whole answer, which must have
// status want.
func post(hc *http.Client, url, token string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(hc, req, want)
}

func do(hc *http.Client, req *http.Request, want int) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		if len(out) > 300 {
			out = out[:300]
		}
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, out)
	}
	return out, nil
}

// mintTokens makes an agent token (an external node) per simulated node,
// mintConc at a time: each is a raft write.
func mintTokens(b *testing.B, hc *http.Client, base string, n int) []string {
	tokens := make([]string, n)
	idx := make(chan int)
	errs := make(chan error, mintConc)
	var wg sync.WaitGroup
	for w := 0; w < mintConc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				body, _ := json.Marshal(map[string]string{"Name": fmt.Sprintf("sim-%04d", i+1)})
				out, err := post(hc, base+"/v1/node/token", "", body, http.StatusOK)
				var ans struct{ NodeID, Name, SecretID string }
				if err == nil {
					err = json.Unmarshal(out, &ans)
				}
				if err == nil && ans.SecretID == "" {
					err = fmt.Errorf("no SecretID in %s", out)
				}
				if err != nil {
					errs <- err
					for range idx { // drain
					}
					return
				}
				tokens[i] = ans.SecretID
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case idx <- i:
		case err := <-errs:
			close(idx)
			wg.Wait()
			b.Fatalf("minting node tokens: %v", err)
		}
	}
	close(idx)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("minting node tokens: %v", err)
	default:
	}
	return tokens
}

// probe pushes one payload an hour old less 30 s (older than any backfill
// sample, which start at an hour less a minute, so they stay in order)
// and returns the samples the server stored from it.
func probe(b *testing.B, hc *http.Client, url, token string, pl *payloads) int {
	at := time.Now().Add(-hostmetrics.MaxPayloadAge + 30*time.Second)
	out, err := post(hc, url, token, pl.body(0, at), http.StatusOK)
	if err != nil {
		b.Fatal(err)
	}
	var ans struct{ Samples int }
	if err := json.Unmarshal(out, &ans); err != nil || ans.Samples == 0 {
		b.Fatalf("ingest answer %s: %v", out, err)
	}
	return ans.Samples
}

// row is one line of the table.
type row struct {
	what     string
	conc     int
	n, errs  int
	firstErr string
	elapsed  time.Duration
	lat      []time.Duration // of the successful requests
	// serverCPU and selfCPU are the server's and this process's CPU time
	// over the run.
	serverCPU, selfCPU time.Duration
	// pctNoop and pctAgent are the rate as a share of the ceilings at the
	// same concurrency (0: not an ingest row).
	pctNoop, pctAgent float64
	rss, hwm          uint64 // the server's, at the end (0: not read)
	note              string
}

// collect gathers the workers' latencies, error counts and first error.
func (r *row) collect(lats [][]time.Duration, errs []int, firstErr *atomic.Pointer[string]) {
	for w := range lats {
		r.lat = append(r.lat, lats[w]...)
		r.errs += errs[w]
	}
	r.n = len(r.lat)
	if p := firstErr.Load(); p != nil {
		r.firstErr = *p
	}
}

func (r row) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// idle reads the server's CPU time and RSS over d without load: its
// background work (TSDB housekeeping, heartbeats, raft) with the hour of
// history in memory.
func idle(b *testing.B, pid int, d time.Duration) row {
	st0, self0 := procStat(b, pid), procStat(b, os.Getpid())
	start := time.Now()
	time.Sleep(d)
	st1, self1 := procStat(b, pid), procStat(b, os.Getpid())
	return row{what: "idle server (no requests)", elapsed: time.Since(start), serverCPU: st1.CPU - st0.CPU,
		selfCPU: self1.CPU - self0.CPU, rss: st1.RSS, hwm: st1.HWM}
}

// closedLoop runs conc workers that send requests back to back for d;
// next gives request i's body and token. pid is the server whose CPU and
// RSS are read (0: none).
func closedLoop(b *testing.B, hc *http.Client, url string, want, conc int, d time.Duration, pid int,
	next func(i int) ([]byte, string)) row {
	var seq atomic.Int64
	lats := make([][]time.Duration, conc)
	errs := make([]int, conc)
	var firstErr atomic.Pointer[string]
	var srv0, srv1 peers.ProcStat
	if pid != 0 {
		srv0 = procStat(b, pid)
	}
	self0 := procStat(b, os.Getpid())
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				body, token := next(int(seq.Add(1) - 1))
				t := time.Now()
				if _, err := post(hc, url, token, body, want); err != nil {
					errs[w]++
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	r := row{conc: conc, elapsed: time.Since(start)}
	if pid != 0 {
		srv1 = procStat(b, pid)
	}
	self1 := procStat(b, os.Getpid())
	r.serverCPU, r.selfCPU = srv1.CPU-srv0.CPU, self1.CPU-self0.CPU
	r.rss, r.hwm = srv1.RSS, srv1.HWM
	r.collect(lats, errs, &firstErr)
	return r
}

// backfillResult is the backfill's row and what it covered.
type backfillResult struct {
	row
	from, to time.Time
	step     time.Duration
	steps    int
}

// backfill pushes every node's history through the ingest API, oldest
// step first, from an hour ago less one minute until it has caught up
// with the clock. The first step (one push per node) creates the series;
// the next two, 10 s apart, measure the rate that picks the step when
// none is set: the smallest of 10s, 20s, 30s, 60s, ... whose backfill is
// projected to fit the budget.
func backfill(b *testing.B, hc *http.Client, srv *testcluster.Agent, tokens []string, pl *payloads, cfg settings) *backfillResult {
	url := srv.URL() + ingestPath
	pid := srv.PID()
	nodes := len(tokens)
	res := &backfillResult{from: time.Now().Add(-hostmetrics.MaxPayloadAge + time.Minute).Truncate(time.Second)}
	res.row = row{what: "backfill: 1 h of history, oldest first", conc: backfillConc}

	type job struct {
		node, step int
		at         time.Time
	}
	jobs := make(chan job, backfillConc)
	lats := make([][]time.Duration, backfillConc)
	errs := make([]int, backfillConc)
	var firstErr atomic.Pointer[string]
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < backfillConc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				t := time.Now()
				_, err := post(hc, url, tokens[j.node], pl.body(j.node+j.step, j.at), http.StatusOK)
				done.Add(1)
				if err != nil {
					errs[w]++
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	srv0 := procStat(b, pid)
	start := time.Now()
	push := func(k int, at time.Time) {
		for n := 0; n < nodes; n++ {
			jobs <- job{node: n, step: k, at: at}
		}
	}
	// Step 0 creates every series; the next two, 10 s apart, append to
	// them as every later step does, and their rate picks the step.
	wait := func(n int) {
		for done.Load() < int64(n) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	const minStep = 10 * time.Second
	push(0, res.from)
	wait(nodes)
	t1 := time.Now()
	push(1, res.from.Add(minStep))
	push(2, res.from.Add(2*minStep))
	wait(3 * nodes)
	r1 := float64(2*nodes) / time.Since(t1).Seconds()
	res.step = cfg.step
	if res.step == 0 {
		res.step = chooseStep(nodes, r1, time.Since(res.from), cfg.budget)
	}
	fmt.Printf("hostbench backfill: %d nodes' series created in %s, then %d pushes at %.0f/s; step %s, about %.0f steps to catch up with the clock\n",
		nodes, t1.Sub(start).Round(time.Millisecond), 2*nodes, r1, res.step, time.Since(res.from).Seconds()/res.step.Seconds())

	res.steps = 3
	res.to = res.from.Add(2 * minStep)
	lastReport := time.Now()
	for k := int(2*minStep/res.step) + 1; ; k++ {
		at := res.from.Add(time.Duration(k) * res.step)
		now := time.Now()
		if at.After(now.Add(-res.step)) {
			break // caught up: the next step is the live one
		}
		if at.Before(now.Add(-hostmetrics.MaxPayloadAge + 30*time.Second)) {
			res.note = fmt.Sprintf("fell behind the clock at step %d (%s old): stopped", k, now.Sub(at).Round(time.Second))
			break
		}
		push(k, at)
		res.steps++
		res.to = at
		if time.Since(lastReport) > time.Minute {
			lastReport = time.Now()
			fmt.Printf("hostbench backfill: step %d, at %s ago, %s elapsed\n", k, now.Sub(at).Round(time.Second), time.Since(start).Round(time.Second))
		}
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	srv1 := procStat(b, pid)
	res.serverCPU = srv1.CPU - srv0.CPU
	res.rss, res.hwm = srv1.RSS, srv1.HWM
	res.row.collect(lats, errs, &firstErr)
	if res.note == "" {
		res.note = "caught up with the clock"
	}
	res.row.note = fmt.Sprintf("step %s, %d steps, %s", res.step, res.steps, res.note)
	return res
}

// chooseStep is the smallest backfill step (10s, 20s, 30s, 60s, 2m, 5m,
// 10m) with which pushes at rate (80% of the measured one: the head grows)
// replay span of history for nodes and catch up with the clock within
// budget. Pushing a step of history takes nodes/rate while the clock
// moves on by as much; catching up takes nodes*span/step / (rate -
// nodes/step).
func chooseStep(nodes int, rate float64, span, budget time.Duration) time.Duration {
	steps := []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute,
		2 * time.Minute, 5 * time.Minute, 10 * time.Minute}
	rate *= 0.8
	for _, s := range steps {
		need := float64(nodes) / s.Seconds() // pushes per second to keep up
		if rate <= need {
			continue
		}
		t := float64(nodes) * (span.Seconds() / s.Seconds()) / (rate - need)
		if time.Duration(t*float64(time.Second)) <= budget {
			return s
		}
	}
	return steps[len(steps)-1]
}

// steady pushes every node once per pushInterval for d, paced (open
// loop), with collectedAt = now, and reads the server's CPU time and RSS.
func steady(b *testing.B, hc *http.Client, url string, tokens []string, pl *payloads, d time.Duration, pid int) row {
	nodes := len(tokens)
	gap := pushInterval / time.Duration(nodes)
	jobs := make(chan int, 4*nodes)
	lats := make([][]time.Duration, steadyConc)
	errs := make([]int, steadyConc)
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	for w := 0; w < steadyConc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := time.Now()
				if _, err := post(hc, url, tokens[i%nodes], pl.body(i, t), http.StatusOK); err != nil {
					errs[w]++
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				lats[w] = append(lats[w], time.Since(t))
			}
		}()
	}
	srv0, self0 := procStat(b, pid), procStat(b, os.Getpid())
	start := time.Now()
	blocked := 0
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * gap)
		if !due.Before(start.Add(d)) {
			break
		}
		time.Sleep(time.Until(due))
		select {
		case jobs <- i:
		default: // the server is behind by 4 push intervals
			blocked++
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	r := row{what: fmt.Sprintf("steady: %d nodes every %s, paced", nodes, pushInterval), conc: steadyConc, elapsed: time.Since(start)}
	srv1, self1 := procStat(b, pid), procStat(b, os.Getpid())
	r.serverCPU, r.selfCPU = srv1.CPU-srv0.CPU, self1.CPU-self0.CPU
	r.rss, r.hwm = srv1.RSS, srv1.HWM
	r.collect(lats, errs, &firstErr)
	r.note = fmt.Sprintf("target %.0f/s", float64(nodes)/pushInterval.Seconds())
	if blocked > 0 {
		r.note += fmt.Sprintf(", pacer blocked %d times", blocked)
	}
	return r
}

// promQL runs the instant query and the hour's range query at 60s steps,
// cfg.queries times each, one at a time, and checks that they see every
// node.
func promQL(b *testing.B, hc *http.Client, base string, cfg settings) (row, row) {
	type answer struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Values [][2]any
			}
		}
	}
	run := func(what string, query func(now time.Time) string) row {
		r := row{what: what, conc: 1}
		var series, points int
		start := time.Now()
		for i := 0; i < cfg.queries; i++ {
			req, err := http.NewRequest(http.MethodGet, base+query(time.Now()), nil)
			if err != nil {
				b.Fatal(err)
			}
			t := time.Now()
			out, err := do(hc, req, http.StatusOK)
			if err != nil {
				r.errs++
				if r.firstErr == "" {
					r.firstErr = err.Error()
				}
				continue
			}
			r.lat = append(r.lat, time.Since(t))
			var a answer
			if err := json.Unmarshal(out, &a); err != nil || a.Status != "success" {
				b.Fatalf("%s: %v %.300s", what, err, out)
			}
			series, points = len(a.Data.Result), 0
			for _, s := range a.Data.Result {
				points += max(len(s.Values), 1)
			}
		}
		r.elapsed = time.Since(start)
		r.n = len(r.lat)
		r.note = fmt.Sprintf("%d series, %d points", series, points)
		if series != cfg.nodes {
			r.note += fmt.Sprintf(" (want %d series)", cfg.nodes)
		}
		return r
	}
	q := url.QueryEscape(cpuQuery)
	inst := run("PromQL: "+cpuQuery, func(now time.Time) string {
		return "/api/v1/query?query=" + q + "&time=" + unix(now)
	})
	rng := run("PromQL: same, query_range 1h step 60s", func(now time.Time) string {
		return "/api/v1/query_range?query=" + q + "&start=" + unix(now.Add(-time.Hour)) + "&end=" + unix(now) + "&step=60"
	})
	return inst, rng
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', 3, 64)
}

// saveCPUProfile asks the server for a CPU profile of d and writes it.
func saveCPUProfile(hc *http.Client, base, path string, d time.Duration) error {
	secs := max(int(d.Seconds()), 1)
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/agent/pprof/profile?seconds=%d", base, secs), nil)
	if err != nil {
		return err
	}
	out, err := do(hc, req, http.StatusOK)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// loadAvg is the machine's 1, 5 and 15 minute load averages: other work
// on the machine shows there.
func loadAvg() string {
	buf, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(buf))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func procStat(b *testing.B, pid int) peers.ProcStat {
	st, err := peers.ReadProcStat(pid)
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// pct is the q-quantile of ds (nearest rank), 0 for none.
func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// printTable prints the rows.
func printTable(out io.Writer, rows []row) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "what\tc\tdone\trate/s\tp50\tp99\terrors\t% ceiling (httptest / agent)\tserver CPU cores\tserver CPU ms/req\tbench CPU cores\tserver RSS MiB (peak)\tnote")
	for _, r := range rows {
		pcts := "-"
		if r.pctNoop > 0 {
			pcts = fmt.Sprintf("%.1f%% / %.1f%%", r.pctNoop, r.pctAgent)
		}
		cores, perReq, self, rss := "-", "-", "-", "-"
		if r.serverCPU > 0 {
			cores = fmt.Sprintf("%.2f", r.serverCPU.Seconds()/r.elapsed.Seconds())
			if r.n > 0 {
				perReq = fmt.Sprintf("%.2f", r.serverCPU.Seconds()*1e3/float64(r.n))
			}
		}
		if r.selfCPU > 0 {
			self = fmt.Sprintf("%.2f", r.selfCPU.Seconds()/r.elapsed.Seconds())
		}
		if r.rss > 0 {
			rss = fmt.Sprintf("%.0f (%.0f)", float64(r.rss)/(1<<20), float64(r.hwm)/(1<<20))
		}
		note := r.note
		if r.firstErr != "" {
			note = strings.TrimSpace(note + " first error: " + r.firstErr)
		}
		conc, rate := "-", "-"
		if r.conc > 0 {
			conc, rate = strconv.Itoa(r.conc), fmt.Sprintf("%.0f", r.rate())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.what, conc, r.n, rate,
			fmtDur(pct(r.lat, 0.5)), fmtDur(pct(r.lat, 0.99)), r.errs, pcts, cores, perReq, self, rss, note)
	}
	tw.Flush()
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1e3)
	default:
		return d.Round(100 * time.Microsecond).String()
	}
}

// TestPayloads checks that the variants keep RealisticPayload's shape
// (20 containers, 10 processes per list, 5 checks of each kind), pass the
// server's validation with the collectedAt set in place, and share one
// set of series.
func TestPayloads(t *testing.T) {
	pl, err := newPayloads(5)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 7, 30, 1, 234e6, time.UTC)
	var names []string
	for i := range pl.bodies {
		p, ignored, ierr := hostmetrics.Decode(pl.body(i, at))
		if ierr != nil {
			t.Fatalf("variant %d: %v", i, ierr)
		}
		if len(ignored) > 0 {
			t.Fatalf("variant %d ignored %v", i, ignored)
		}
		if p.CollectedAt == nil || *p.CollectedAt != "2026-12-05T07:30:01.234Z" {
			t.Fatalf("variant %d collectedAt %v", i, p.CollectedAt)
		}
		if len(p.Services) != 20 || len(p.Containers) != 20 || len(p.TopProcesses.ByCPU) != 10 || len(p.TopProcesses.ByMemory) != 10 ||
			len(p.ServiceHealthChecks) != 5 || len(p.TCPCheckResults) != 5 || len(p.CertCheckResults) != 5 {
			t.Fatalf("variant %d shape: %d services, %d containers, %d+%d processes, %d/%d/%d checks", i, len(p.Services), len(p.Containers),
				len(p.TopProcesses.ByCPU), len(p.TopProcesses.ByMemory), len(p.ServiceHealthChecks), len(p.TCPCheckResults), len(p.CertCheckResults))
		}
		var s []string
		for _, sv := range p.Services {
			s = append(s, sv.ContainerName+"/"+*sv.State+"/"+*sv.Health)
		}
		if got := strings.Join(s, ","); names == nil {
			names = s
		} else if got != strings.Join(names, ",") {
			t.Fatalf("variant %d has other container labels: %s", i, got)
		}
	}
	if bytes.Equal(pl.bodies[0], pl.bodies[1]) {
		t.Fatal("variants are identical")
	}
}

// TestChooseStep checks the backfill step arithmetic: 2,000 nodes at
// 10s need 200 pushes/s to keep up.
func TestChooseStep(t *testing.T) {
	for _, c := range []struct {
		rate float64
		want time.Duration
	}{
		{rate: 2000, want: 10 * time.Second},   // 1600 usable: 720k/1400 = 514s
		{rate: 500, want: 20 * time.Second},    // 10s: 720k/200 = 1h; 20s: 360k/300 = 20m
		{rate: 200, want: 60 * time.Second},    // 160 usable: 30s: 240k/93 = 43m; 60s: 120k/127 = 16m
		{rate: 10, want: 10 * time.Minute},     // nothing fits: the coarsest
		{rate: 100000, want: 10 * time.Second}, // fast
	} {
		if got := chooseStep(2000, c.rate, time.Hour, 20*time.Minute); got != c.want {
			t.Errorf("rate %v: step %s, want %s", c.rate, got, c.want)
		}
	}
}
