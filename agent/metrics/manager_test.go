package metrics

import (
	"bytes"
	"fmt"

	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/prometheus/prompb"

	"github.com/nomadlike/nomadlike/agent/metrics/metricstest"
)

func newManager(t *testing.T, dir string) *Manager {
	t.Helper()
	m, err := New(Options{WALDir: dir, Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}),
		Global: Global{ScrapeInterval: time.Second, ScrapeTimeout: 500 * time.Millisecond,
			ExternalLabels: map[string]string{"cluster": "test"}},
		DrainPoll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestManager_ScrapesAndWritesRemote(t *testing.T) {
	s := metricstest.NewSink(t)
	exp := metricstest.Exporter(t, "demo_temperature{room=\"a\"} 21.5\n")
	m := newManager(t, t.TempDir())
	if err := m.Apply([]Spec{{Name: "node", Source: "assigned", YAML: instanceYAML("demo", exp.URL, s.URL())}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "samples at the sink", func() bool {
		return len(s.Timestamps(`__name__="demo_temperature"`, `cluster="test"`, `job="demo"`)) >= 2 &&
			len(s.Timestamps(`__name__="up"`, `job="demo"`)) >= 1
	})
	ts := m.Targets()
	if len(ts) != 1 || ts[0].Instance != "node" || ts[0].TargetGroup != "demo" || ts[0].State != "up" ||
		ts[0].Labels["job"] != "demo" || ts[0].Endpoint != exp.URL+"/metrics" {
		t.Fatalf("targets: %+v", ts)
	}
	st := m.Status()
	if len(st) != 1 || st[0].State != "running" || st[0].TargetsUp != 1 || st[0].Source != "assigned" {
		t.Fatalf("status: %+v", st)
	}
	if got := m.Instances(); len(got) != 1 || got[0] != "node" {
		t.Fatalf("instances: %v", got)
	}
	mfs, err := m.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	for _, want := range []string{"prometheus_remote_storage_samples_total", "prometheus_agent_samples_appended_total",
		"prometheus_target_scrape_pools_total"} {
		if !names[want] {
			t.Errorf("Gather lacks %s", want)
		}
	}
}

func TestManager_HotApplyKeepsUnchangedInstances(t *testing.T) {
	s := metricstest.NewSink(t)
	a := metricstest.Exporter(t, "metric_a 1\n")
	b := metricstest.Exporter(t, "metric_b 2\n")
	m := newManager(t, t.TempDir())
	specs := []Spec{
		{Name: "one", YAML: instanceYAML("job_a", a.URL, s.URL())},
		{Name: "two", YAML: instanceYAML("job_b", b.URL, s.URL())},
	}
	if err := m.Apply(specs); err != nil {
		t.Fatal(err)
	}
	one, two := m.get("one"), m.get("two")
	// Change "two" (another scrape target), keep "one".
	specs[1].YAML = instanceYAML("job_b2", a.URL, s.URL())
	if err := m.Apply(specs); err != nil {
		t.Fatal(err)
	}
	if m.get("one") != one || m.get("two") != two {
		t.Fatal("an instance was restarted by a hot apply")
	}
	waitFor(t, 20*time.Second, "the new job's samples", func() bool {
		return len(s.Timestamps(`__name__="metric_a"`, `job="job_b2"`)) > 0
	})
	// A change of WAL options restarts it on the same WAL.
	specs[1].YAML = []byte(metricstest.InstanceYAML("job_b2", a.URL, s.URL()) + "max_wal_time: 5h\n")
	if err := m.Apply(specs); err != nil {
		t.Fatal(err)
	}
	if m.get("two") == two || m.get("one") != one {
		t.Fatal("WAL options changed but the instance was not restarted (or the other one was)")
	}
	// A bad config keeps the running one and is reported.
	specs[0].YAML = []byte("scrape_configs:\n  - job_name: x\n    bogus: 1\n")
	if err := m.Apply(specs); err == nil {
		t.Fatal("bad config applied without an error")
	}
	if m.get("one") != one {
		t.Fatal("a bad config stopped the running instance")
	}
	var failed string
	for _, st := range m.Status() {
		if st.Name == "one" {
			failed = st.Error
		}
	}
	if !strings.Contains(failed, "bogus") {
		t.Fatalf("status error %q does not name the bad key", failed)
	}
}

func TestManager_StoppedInstanceDrainsThenRemovesWAL(t *testing.T) {
	s := metricstest.NewSink(t)
	exp := metricstest.Exporter(t, "drain_me 1\n")
	dir := t.TempDir()
	m := newManager(t, dir)
	spec := Spec{Name: "team/a", YAML: instanceYAML("d", exp.URL, s.URL())}
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "first samples", func() bool { return len(s.Timestamps(`drain_me`)) > 0 })
	// The store goes away; samples pile up in the WAL.
	s.Down.Store(true)
	before := len(s.Timestamps(`drain_me`))
	in := m.get("team/a")
	waitFor(t, 20*time.Second, "samples appended while the store is down", func() bool {
		mfs, _ := in.reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "prometheus_remote_storage_samples_failed_total" || mf.GetName() == "prometheus_remote_storage_samples_retried_total" {
				for _, mm := range mf.GetMetric() {
					if mm.GetCounter().GetValue() > 0 {
						return true
					}
				}
			}
		}
		return false
	})
	if err := m.Apply(nil); err != nil {
		t.Fatal(err)
	}
	st := m.Status()
	if len(st) != 1 || st[0].State != "draining" {
		t.Fatalf("status after unassign: %+v", st)
	}
	walDir := filepath.Join(dir, "team%2Fa")
	if _, err := os.Stat(walDir); err != nil {
		t.Fatalf("WAL removed while samples were unsent: %v", err)
	}
	s.Down.Store(false)
	waitFor(t, 30*time.Second, "the WAL to be sent and removed", func() bool {
		_, err := os.Stat(walDir)
		return os.IsNotExist(err)
	})
	if after := len(s.Timestamps(`drain_me`)); after <= before {
		t.Fatalf("no sample from the outage arrived: %d before, %d after", before, after)
	}
	if st := m.Status(); len(st) != 0 {
		t.Fatalf("status after drain: %+v", st)
	}
}

func TestManager_WriteReceiverAppendsToInstanceWAL(t *testing.T) {
	s := metricstest.NewSink(t)
	m := newManager(t, t.TempDir())
	yaml := fmt.Sprintf("remote_write:\n  - url: %s\n    queue_config: {batch_send_deadline: 100ms}\n", s.URL())
	if err := m.Apply([]Spec{{Name: "recv", YAML: []byte(yaml)}}); err != nil {
		t.Fatal(err)
	}
	h, ok := m.WriteHandler("recv")
	if !ok {
		t.Fatal("no write handler")
	}
	// The remote_write queue sends samples newer than its own start
	// (Prometheus' WAL watcher): push until one has gone through.
	pushed := map[int64]bool{}
	push := func() {
		now := time.Now().UnixMilli()
		req := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
			Labels:  []prompb.Label{{Name: "__name__", Value: "pushed_total"}, {Name: "src", Value: "test"}},
			Samples: []prompb.Sample{{Timestamp: now, Value: 7}},
		}}}
		raw, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(snappy.Encode(nil, raw)))
		r.Header.Set("Content-Encoding", "snappy")
		r.Header.Set("Content-Type", "application/x-protobuf")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusNoContent {
			t.Fatalf("write: %d %s", w.Code, w.Body)
		}
		pushed[now] = true
	}
	waitFor(t, 20*time.Second, "a pushed sample at the sink", func() bool {
		push()
		for _, ts := range s.Timestamps(`pushed_total`, `src="test"`, `cluster="test"`) {
			if !pushed[ts] {
				t.Fatalf("sink got timestamp %d that was never pushed", ts)
			}
			return true
		}
		return false
	})
	// Garbage is a 400.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("not snappy")))
	if w.Code != http.StatusBadRequest {
		t.Fatalf("garbage: %d %s", w.Code, w.Body)
	}
}

func instanceYAML(job, target, url string) []byte {
	return []byte(metricstest.InstanceYAML(job, target, url))
}

// TestManager_RestartSendsWhatWasUnsent stops a manager while the store
// is down and starts another on the same WAL: what was scraped before the
// restart and never sent reaches the store once it is back, and the
// series go on.
func TestManager_RestartSendsWhatWasUnsent(t *testing.T) {
	s := metricstest.NewSink(t)
	exp := metricstest.Exporter(t, "restart_me 1\n")
	dir := t.TempDir()
	spec := Spec{Name: "r", YAML: []byte(metricstest.InstanceYAML("r", exp.URL, s.URL()) + "remote_flush_deadline: 200ms\n")}
	m1, err := New(Options{WALDir: dir, Logger: hclog.NewNullLogger(), Global: Global{ScrapeInterval: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m1.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "first samples", func() bool { return len(s.Timestamps(`restart_me`)) > 0 })
	s.Down.Store(true)
	// Scrapes go on into the WAL while the store is down.
	var downAt int64
	waitFor(t, 20*time.Second, "samples appended while the store is down", func() bool {
		if downAt == 0 {
			downAt = time.Now().UnixMilli()
		}
		f := m1.Figures()["r"]
		return f.RemoteFailed > 0 || time.Now().UnixMilli()-downAt > 2000
	})
	if err := m1.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	stoppedAt := time.Now().UnixMilli()
	before := s.Timestamps(`restart_me`)

	m2, err := New(Options{WALDir: dir, Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}),
		Global: Global{ScrapeInterval: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m2.Close() })
	if err := m2.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	s.Down.Store(false)
	waitFor(t, 30*time.Second, "samples scraped before the restart, and new ones", func() bool {
		var old, fresh int
		for _, ts := range s.Timestamps(`restart_me`) {
			switch {
			case ts > downAt && ts < stoppedAt:
				old++
			case ts > stoppedAt:
				fresh++
			}
		}
		if old < 2 || fresh < 2 {
			t.Logf("old %d fresh %d (before restart the sink had %d) %+v %v", old, fresh, len(before), m2.Figures()["r"], m2.Status())
			return false
		}
		return true
	})
}
