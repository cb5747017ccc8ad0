package hostmetrics

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/nomadlike/nomadlike/structs"
)

var testNode = NodeLabels{NodeID: "8d4f0a52-1111-4222-8333-944455556666", Node: "web-1", Datacenter: "dc1"}

// t0 is 2026-04-15T12:00:00Z in ms.
const t0 = int64(1776254400000)

func openTSDB(t *testing.T) *tsdb.DB {
	t.Helper()
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// appendCommit appends p at ts and commits.
func appendCommit(t *testing.T, db *tsdb.DB, nl NodeLabels, p *structs.HostMetrics, ts int64) int {
	t.Helper()
	app := db.Appender(context.Background())
	n, err := AppendPayload(app, nl, p, ts)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return n
}

// query runs an instant PromQL query at ts.
func query(t *testing.T, db storage.Queryable, q string, ts int64) promql.Vector {
	t.Helper()
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	ctx := context.Background()
	qry, err := eng.NewInstantQuery(ctx, db, nil, q, time.UnixMilli(ts))
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		t.Fatalf("%s: %v", q, res.Err)
	}
	v, err := res.Vector()
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// one runs a query that must answer one sample, and returns it.
func one(t *testing.T, db storage.Queryable, q string, ts int64) promql.Sample {
	t.Helper()
	v := query(t, db, q, ts)
	if len(v) != 1 {
		t.Fatalf("%s: %d samples, want 1: %v", q, len(v), v)
	}
	return v[0]
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestAppendPayload_SpecExample(t *testing.T) {
	db := openTSDB(t)
	p, _ := mustDecode(t, specExample(t))
	n := appendCommit(t, db, testNode, p, t0)

	// Every series the example makes, without the node's labels.
	want := map[string]float64{
		`nomadlike_host_cpu_usage_ratio`:                                                                                           0.01,
		`nomadlike_host_memory_used_bytes`:                                                                                         1 << 20,
		`nomadlike_host_memory_total_bytes`:                                                                                        1 << 20,
		`nomadlike_host_swap_used_bytes`:                                                                                           1 << 20,
		`nomadlike_host_swap_total_bytes`:                                                                                          1 << 20,
		`nomadlike_host_disk_used_bytes`:                                                                                           1 << 30,
		`nomadlike_host_disk_total_bytes`:                                                                                          1 << 30,
		`nomadlike_host_load1`:                                                                                                     1,
		`nomadlike_host_load5`:                                                                                                     1,
		`nomadlike_host_load15`:                                                                                                    1,
		`nomadlike_host_uptime_seconds`:                                                                                            1,
		`nomadlike_host_open_fds`:                                                                                                  1,
		`nomadlike_host_max_fds`:                                                                                                   1,
		`nomadlike_host_tcp_connections{state="established"}`:                                                                      1,
		`nomadlike_host_tcp_connections{state="listen"}`:                                                                           1,
		`nomadlike_host_tcp_connections{state="time_wait"}`:                                                                        1,
		`nomadlike_host_tcp_connections{state="close_wait"}`:                                                                       1,
		`nomadlike_host_tcp_connections_all`:                                                                                       1,
		`nomadlike_host_server_healthy`:                                                                                            1,
		`nomadlike_agent_info{version="example"}`:                                                                                  1,
		`nomadlike_host_last_push_timestamp_seconds`:                                                                               float64(t0) / 1e3,
		`nomadlike_container_cpu_usage_ratio{container="example"}`:                                                                 0.01,
		`nomadlike_container_memory_used_bytes{container="example"}`:                                                               1 << 20,
		`nomadlike_container_memory_limit_bytes{container="example"}`:                                                              1 << 20,
		`nomadlike_container_network_receive_bytes_total{container="example"}`:                                                     1 << 20,
		`nomadlike_container_network_transmit_bytes_total{container="example"}`:                                                    1 << 20,
		`nomadlike_container_block_read_bytes_total{container="example"}`:                                                          1 << 20,
		`nomadlike_container_block_write_bytes_total{container="example"}`:                                                         1 << 20,
		`nomadlike_container_restarts_total{container="example"}`:                                                                  1,
		`nomadlike_container_state{container="example", health="example", state="example"}`:                                        1,
		`nomadlike_container_info{container="example", image="example", state="example"}`:                                          1,
		`nomadlike_container_created_timestamp_seconds{container="example"}`:                                                       1,
		`nomadlike_check_http_success{container="example", url="example"}`:                                                         1,
		`nomadlike_check_http_status_code{container="example", url="example"}`:                                                     1,
		`nomadlike_check_http_duration_seconds{container="example", url="example"}`:                                                0.001,
		`nomadlike_check_http_checked_timestamp_seconds{container="example", url="example"}`:                                       float64(t0) / 1e3,
		`nomadlike_check_tcp_success{check="example", container="example", host="example", port="1"}`:                              1,
		`nomadlike_check_tcp_duration_seconds{check="example", container="example", host="example", port="1"}`:                     0.001,
		`nomadlike_check_tls_success{check="example", container="example", host="example", port="1"}`:                              1,
		`nomadlike_check_tls_duration_seconds{check="example", container="example", host="example", port="1"}`:                     0.001,
		`nomadlike_cert_days_until_expiry{check="example", container="example", host="example", port="1"}`:                         1,
		`nomadlike_cert_info{check="example", container="example", host="example", issuer="example", port="1", subject="example"}`: 1,
		`nomadlike_process_cpu_usage_ratio{process="example"}`:                                                                     0.01,
		`nomadlike_process_memory_bytes{process="example"}`:                                                                        1 << 20,
		`nomadlike_process_threads{process="example"}`:                                                                             1,
		`nomadlike_host_processes{state="running"}`:                                                                                1,
		`nomadlike_host_processes{state="sleeping"}`:                                                                               1,
		`nomadlike_host_processes{state="stopped"}`:                                                                                1,
		`nomadlike_host_processes{state="zombie"}`:                                                                                 1,
		`nomadlike_host_processes_all`:                                                                                             1,
	}
	got := map[string]float64{}
	for _, s := range query(t, db, `{node_id="`+testNode.NodeID+`"}`, t0) {
		// Every series carries the node's three labels.
		if s.Metric.Get("node") != "web-1" || s.Metric.Get("datacenter") != "dc1" {
			t.Errorf("%s lacks the node's labels", s.Metric)
		}
		b := labels.NewBuilder(s.Metric)
		b.Del("node_id", "node", "datacenter")
		got[b.Labels().String()] = s.F
	}
	// Render want the way labels.String does.
	wantRendered := map[string]float64{}
	for k, v := range want {
		name, rest, _ := strings.Cut(strings.TrimSuffix(k, "}"), "{")
		ls := []string{labels.MetricName, name}
		for kv := range strings.SplitSeq(rest, ", ") {
			if kv == "" {
				continue
			}
			lk, lv, _ := strings.Cut(kv, "=")
			ls = append(ls, lk, strings.Trim(lv, `"`))
		}
		wantRendered[labels.FromStrings(ls...).String()] = v
	}
	if n != len(want) || len(got) != len(want) {
		t.Errorf("appended %d, stored %d series, want %d", n, len(got), len(want))
	}
	for k, v := range wantRendered {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s", k)
		} else if !near(g, v) {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	for k := range got {
		if _, ok := wantRendered[k]; !ok {
			t.Errorf("unexpected %s", k)
		}
	}

	if s := one(t, db, `max by (node) (nomadlike_host_cpu_usage_ratio)`, t0); s.F != 0.01 || s.Metric.Get("node") != "web-1" {
		t.Errorf("max by (node): %v", s)
	}
	if s := one(t, db, `nomadlike_cert_days_until_expiry < 30`, t0); s.F != 1 {
		t.Errorf("cert: %v", s)
	}
}

func TestAppendPayload_Realistic(t *testing.T) {
	db := openTSDB(t)
	other := NodeLabels{NodeID: "other", Node: "db-1", Datacenter: "dc2"}
	var first, second *structs.HostMetrics
	first, _ = mustDecode(t, RealisticPayload(1))
	second, _ = mustDecode(t, RealisticPayload(2))
	// A container restarts twice between the two payloads.
	*second.Services[0].RestartCount = *first.Services[0].RestartCount + 2
	n1 := appendCommit(t, db, testNode, first, t0)
	n2 := appendCommit(t, db, testNode, second, t0+60_000)
	appendCommit(t, db, other, first, t0)
	if n1 < 300 || n1 != n2 {
		t.Fatalf("appended %d then %d samples", n1, n2)
	}
	at := t0 + 60_000

	v := query(t, db, `max by (node) (nomadlike_host_cpu_usage_ratio)`, at)
	if len(v) != 2 {
		t.Fatalf("max by (node): %v", v)
	}
	for _, s := range v {
		want := *second.CPUPercent / 100
		if s.Metric.Get("node") == "db-1" {
			want = *first.CPUPercent / 100
		}
		if !near(s.F, want) {
			t.Errorf("%s: %v, want %v", s.Metric, s.F, want)
		}
	}
	c := second.Services[0]
	s := one(t, db, `nomadlike_container_restarts_total{node="web-1",container="`+c.ContainerName+`"}`, at)
	if s.F != *c.RestartCount {
		t.Errorf("restarts %v, want %v", s.F, *c.RestartCount)
	}
	// A counter: increase() sees the two restarts.
	s = one(t, db, `increase(nomadlike_container_restarts_total{node="web-1",container="`+c.ContainerName+`"}[2m])`, at)
	if s.F < 2 {
		t.Errorf("increase: %v", s.F)
	}
	if s := one(t, db, `count(nomadlike_container_info{node="web-1"})`, at); s.F != 20 {
		t.Errorf("containers: %v", s.F)
	}
	// The realistic certificates expire in 5, 25, 45, 65 and 85 days.
	if v := query(t, db, `nomadlike_cert_days_until_expiry{node="web-1"} < 30`, at); len(v) != 2 {
		t.Errorf("certificates expiring within 30 days: %v", v)
	}
	s = one(t, db, `min(nomadlike_cert_expiry_timestamp_seconds{node="web-1"}) - time()`, at)
	expires, err := time.Parse(time.RFC3339, *second.CertCheckResults[0].ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := time.Duration(s.F*1e3)*time.Millisecond, expires.Sub(time.UnixMilli(at)); got != want {
		t.Errorf("first expiry in %v, want %v", got, want)
	}
	// Processes are summed by name over both lists, each pid once.
	var mem float64
	pids := map[float64]bool{}
	for _, pr := range append(slices.Clone(second.TopProcesses.ByCPU), second.TopProcesses.ByMemory...) {
		if !pids[pr.PID] {
			pids[pr.PID] = true
			mem += pr.MemoryMb * (1 << 20)
		}
	}
	if s := one(t, db, `sum(nomadlike_process_memory_bytes{node="web-1"})`, at); !near(s.F, mem) {
		t.Errorf("process memory %v, want %v", s.F, mem)
	}
	if s := one(t, db, `nomadlike_host_processes{node="web-1",state="zombie"}`, at); s.F != 4 {
		t.Errorf("zombies %v", s.F)
	}
}

// recorder is an appender that keeps what it is given, failing on demand.
type recorder struct {
	storage.Appender
	got  map[string]float64
	ls   []labels.Labels
	fail func(ls labels.Labels) error
}

func (r *recorder) Append(_ storage.SeriesRef, ls labels.Labels, _ int64, v float64) (storage.SeriesRef, error) {
	if r.fail != nil {
		if err := r.fail(ls); err != nil {
			return 0, err
		}
	}
	if _, dup := r.got[ls.String()]; dup {
		return 0, storage.ErrDuplicateSampleForTimestamp
	}
	r.got[ls.String()] = v
	r.ls = append(r.ls, ls)
	return 1, nil
}

func TestAppendPayload_Dedup(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	p := &structs.HostMetrics{
		Services: []structs.ServiceMetrics{
			{ContainerName: "web", CPUPercent: f(10)},
			{ContainerName: "web", CPUPercent: f(30)},
		},
		TopProcesses: &structs.TopProcesses{
			ByCPU: []structs.ProcessInfo{
				{PID: 1, Name: "nginx", CPUPercent: 50, MemoryMb: 1, Threads: 2},
				{PID: 2, Name: "nginx", CPUPercent: 25, MemoryMb: 1, Threads: 2},
			},
			ByMemory: []structs.ProcessInfo{
				{PID: 1, Name: "nginx", CPUPercent: 50, MemoryMb: 1, Threads: 2},
				{PID: 3, Name: "java", CPUPercent: 1, MemoryMb: 900, Threads: 40},
			},
		},
	}
	r := &recorder{got: map[string]float64{}}
	n, err := AppendPayload(r, NodeLabels{NodeID: "n"}, p, t0)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(r.got) {
		t.Fatalf("%d appended, %d recorded", n, len(r.got))
	}
	for k, want := range map[string]float64{
		`{__name__="nomadlike_container_cpu_usage_ratio", container="web", node_id="n"}`: 0.3,
		`{__name__="nomadlike_process_cpu_usage_ratio", node_id="n", process="nginx"}`:   0.75,
		`{__name__="nomadlike_process_threads", node_id="n", process="nginx"}`:           4,
		`{__name__="nomadlike_process_memory_bytes", node_id="n", process="java"}`:       900 << 20,
	} {
		if got, ok := r.got[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	// Empty node and datacenter are left out, not stored as "".
	for k := range r.got {
		if strings.Contains(k, `node=""`) || strings.Contains(k, "datacenter") {
			t.Errorf("empty label in %s", k)
		}
	}
}

func TestAppendPayload_LabelValues(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("é", 200)
	p := &structs.HostMetrics{
		ServiceHealthChecks: []structs.ServiceHealthCheck{{ContainerName: "bad\xffutf8", HealthCheckURL: long, Success: true}},
	}
	r := &recorder{got: map[string]float64{}}
	if _, err := AppendPayload(r, NodeLabels{NodeID: "n"}, p, t0); err != nil {
		t.Fatal(err)
	}
	if len(r.ls) != 2 {
		t.Fatalf("got %v", r.got)
	}
	for _, ls := range r.ls {
		if ls.Get(labels.MetricName) != MetricCheckHTTPSuccess {
			continue
		}
		url := ls.Get("url")
		if len(url) > MaxLabelValueBytes || len(url) < MaxLabelValueBytes-1 || !strings.HasPrefix(long, url) {
			t.Errorf("url label %d bytes: %q", len(url), url)
		}
		if ls.Get("container") != "bad\uFFFDutf8" {
			t.Errorf("container label %q", ls.Get("container"))
		}
	}
}

func TestAppendPayload_Errors(t *testing.T) {
	db := openTSDB(t)
	p, _ := mustDecode(t, specExample(t))
	n := appendCommit(t, db, testNode, p, t0)

	// The same payload, older: every sample is out of order, the appender
	// stays usable.
	app := db.Appender(context.Background())
	got, err := AppendPayload(app, testNode, p, t0-60_000)
	if got != 0 || !errors.Is(err, storage.ErrOutOfOrderSample) {
		t.Fatalf("older payload: %d appended, err %v", got, err)
	}
	if !strings.Contains(err.Error(), "50 of 50 samples refused") {
		t.Errorf("error %q", err)
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if n != 50 {
		t.Fatalf("first payload: %d samples", n)
	}

	// An error about the appender itself stops at once.
	boom := errors.New("disk on fire")
	calls := 0
	r := &recorder{got: map[string]float64{}, fail: func(labels.Labels) error {
		calls++
		if calls == 3 {
			return boom
		}
		return nil
	}}
	got, err = AppendPayload(r, testNode, p, t0)
	if got != 2 || !errors.Is(err, boom) {
		t.Fatalf("%d appended, err %v", got, err)
	}
}
