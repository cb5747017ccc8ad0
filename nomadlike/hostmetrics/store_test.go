package hostmetrics

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/structs"
)

func openTestStore(t *testing.T, dir string, now func() time.Time) *Store {
	t.Helper()
	s, err := OpenStore(StoreConfig{Dir: dir, Now: now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func decodeOK(t *testing.T, body []byte) *structs.HostMetrics {
	t.Helper()
	p, _, ierr := Decode(body)
	if ierr != nil {
		t.Fatalf("decode: %v", ierr)
	}
	return p
}

// A payload's samples land at its collectedAt, the latest payload is the
// newest by that time, and both survive a restart.
func TestStore_IngestLatestAndRestart(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	s := openTestStore(t, dir, func() time.Time { return now })
	nl := NodeLabels{NodeID: "n1", Node: "web-1", Datacenter: "dc1"}

	newer := []byte(`{"cpuPercent": 50, "collectedAt": "` + now.Add(-time.Minute).UTC().Format(time.RFC3339) + `"}`)
	older := []byte(`{"cpuPercent": 10, "collectedAt": "` + now.Add(-2*time.Minute).UTC().Format(time.RFC3339) + `"}`)
	for _, b := range [][]byte{newer, older} { // out of order, within the window
		if n, err := s.Ingest(nl, decodeOK(t, b), b, now, "s1"); err != nil || n == 0 {
			t.Fatalf("ingest: %d %v", n, err)
		}
	}
	if l := s.Latest("n1"); l == nil || string(l.Payload) != string(newer) || l.Server != "s1" {
		t.Fatalf("latest: %+v", l)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, dir, func() time.Time { return now })
	defer s.Close()
	if l := s.Latest("n1"); l == nil || string(l.Payload) != string(newer) {
		t.Fatalf("latest after restart: %+v", l)
	}
	// Both samples are there, in time order.
	q, _ := s.Querier(now.Add(-time.Hour).UnixMilli(), now.UnixMilli())
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", MetricHostCPUUsageRatio))
	var vals []float64
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() != 0 {
			_, v := it.At()
			vals = append(vals, v)
		}
	}
	if len(vals) != 2 || vals[0] != 0.1 || vals[1] != 0.5 {
		t.Fatalf("samples: %v", vals)
	}
}

// A payload too old for the out-of-order window, or from the future, is
// refused whole with the field named; nothing of it is stored.
func TestStore_CollectedAtBounds(t *testing.T) {
	now := time.Now()
	s := openTestStore(t, t.TempDir(), func() time.Time { return now })
	defer s.Close()
	for _, at := range []time.Time{now.Add(-MaxPayloadAge - time.Minute), now.Add(MaxClockSkew + time.Minute)} {
		b := []byte(`{"cpuPercent": 5, "collectedAt": "` + at.UTC().Format(time.RFC3339) + `"}`)
		_, err := s.Ingest(NodeLabels{NodeID: "n1"}, decodeOK(t, b), b, now, "s1")
		var ie *structs.IngestError
		if !errors.As(err, &ie) || ie.Status != 400 || ie.Field != "collectedAt" {
			t.Fatalf("collectedAt %s: %v", at, err)
		}
	}
	if n := s.DB().Head().NumSeries(); n != 0 || s.Latest("n1") != nil {
		t.Fatalf("refused payloads stored %d series", n)
	}
}

// A query merges this store with its peers' through the read codec; a peer
// that fails leaves a warning, not an error.
func TestStore_PeerQueriesMergeAndWarn(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	local, peer := openTestStore(t, t.TempDir(), clock), openTestStore(t, t.TempDir(), clock)
	defer local.Close()
	defer peer.Close()
	body := []byte(`{"cpuPercent": 20}`)
	local.Ingest(NodeLabels{NodeID: "a", Node: "a"}, decodeOK(t, body), body, now, "local")
	body2 := []byte(`{"cpuPercent": 70}`)
	peer.Ingest(NodeLabels{NodeID: "b", Node: "b"}, decodeOK(t, body2), body2, now, "peer")

	working := func(ctx context.Context, args *structs.HostMetricsReadRequest, reply *structs.HostMetricsReadResponse) error {
		return peer.Read(ctx, args, reply)
	}
	broken := func(context.Context, *structs.HostMetricsReadRequest, *structs.HostMetricsReadResponse) error {
		return errors.New("connection refused")
	}
	queryable := storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		l, err := local.Querier(mint, maxt)
		if err != nil {
			return nil, err
		}
		return storage.NewMergeQuerier([]storage.Querier{l}, []storage.Querier{
			NewPeerQuerier("peer", mint, maxt, working), NewPeerQuerier("down", mint, maxt, broken),
		}, storage.ChainedSeriesMerge), nil
	})
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	q, err := engine.NewInstantQuery(context.Background(), queryable, nil, "max by (node) ("+MetricHostCPUUsageRatio+")", now)
	if err != nil {
		t.Fatal(err)
	}
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("query: %v", res.Err)
	}
	vec, _ := res.Vector()
	if len(vec) != 2 {
		t.Fatalf("want both nodes, got %v", vec)
	}
	if len(res.Warnings) == 0 || !strings.Contains(res.Warnings.AsErrors()[0].Error(), "server down") {
		t.Fatalf("want a warning naming the down server, got %v", res.Warnings)
	}

	// Label values come from every store as well.
	qr, _ := queryable.Querier(now.Add(-time.Hour).UnixMilli(), now.UnixMilli())
	defer qr.Close()
	vals, ws, err := qr.LabelValues(context.Background(), "node", nil)
	if err != nil || strings.Join(vals, ",") != "a,b" || len(ws) == 0 {
		t.Fatalf("label values: %v %v %v", vals, ws, err)
	}
}

// A series the node's next payload no longer has (a container gone, a
// state that changed) is marked stale at once, as a scrape marks a
// vanished series, instead of lingering for the lookback; a backfilled
// older payload marks nothing.
func TestStore_StaleMarkers(t *testing.T) {
	now := time.Now()
	s := openTestStore(t, t.TempDir(), func() time.Time { return now })
	defer s.Close()
	nl := NodeLabels{NodeID: "n1", Node: "web-1"}
	push := func(at time.Time, services string) {
		t.Helper()
		b := []byte(`{"collectedAt":"` + at.UTC().Format(time.RFC3339) + `","services":[` + services + `]}`)
		if _, err := s.Ingest(nl, decodeOK(t, b), b, now, "s1"); err != nil {
			t.Fatal(err)
		}
	}
	count := func(at time.Time) int { t.Helper(); return containerSeriesAlive(t, s, at) }
	t0 := now.Add(-10 * time.Minute)
	push(t0, `{"containerName":"a","state":"running"},{"containerName":"b","state":"running"}`)
	push(t0.Add(-time.Minute), `{"containerName":"a","state":"running"}`) // backfill: marks nothing
	if n := count(t0.Add(10 * time.Second)); n != 2 {
		t.Fatalf("after the first payload: %d container series, want 2", n)
	}
	push(t0.Add(20*time.Second), `{"containerName":"a","state":"restarting"}`)
	if n := count(t0.Add(30 * time.Second)); n != 1 {
		t.Fatalf("after a changed payload: %d container series, want 1 (the others stale)", n)
	}
}

// latest.json cut short (a disk that filled up, a hand edit) keeps the
// nodes before the fault and never trusts a size it holds.
func TestStore_LatestFileDamaged(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	s := openTestStore(t, dir, func() time.Time { return now })
	for _, id := range []string{"a", "b"} {
		b := []byte(`{"cpuPercent": 1}`)
		s.Ingest(NodeLabels{NodeID: id}, decodeOK(t, b), b, now, "s1")
	}
	s.Close()
	path := dir + "/" + latestFile
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		content []byte
		want    int
	}{
		{"cut in the second payload", full[:len(full)-5], 1},
		{"a huge size", []byte(`{"NodeID":"x","PayloadBytes":1099511627776}` + "\n"), 0},
		{"not JSON", []byte("garbage\n"), 0},
	} {
		if err := os.WriteFile(path, c.content, 0o600); err != nil {
			t.Fatal(err)
		}
		s := openTestStore(t, dir, func() time.Time { return now })
		n := 0
		for _, id := range []string{"a", "b", "x"} {
			if s.Latest(id) != nil {
				n++
			}
		}
		s.Close()
		if n != c.want {
			t.Errorf("%s: %d nodes' latest kept, want %d", c.name, n, c.want)
		}
	}
}

// A cached series reference the head no longer knows (the series went
// idle and was collected) falls back to the labels: nothing is lost.
func TestAppendPayloadAfter_StaleCache(t *testing.T) {
	s := openTestStore(t, t.TempDir(), nil)
	defer s.Close()
	p := decodeOK(t, RealisticPayload(1))
	nl := NodeLabels{NodeID: "n1", Node: "web-1"}
	now := time.Now().UnixMilli()
	app := s.DB().Appender(context.Background())
	n1, written, err := AppendPayloadAfter(app, nl, p, now-1000, nil, false)
	if err != nil || app.Commit() != nil {
		t.Fatal(err)
	}
	gone := slices.Clone(written)
	for i := range gone {
		gone[i].Ref += 1 << 40 // no such series
	}
	app = s.DB().Appender(context.Background())
	n2, _, err := AppendPayloadAfter(app, nl, p, now, gone, true)
	if err != nil || app.Commit() != nil || n2 != n1 {
		t.Fatalf("with a stale cache: %d of %d samples, %v", n2, n1, err)
	}
	if got := s.DB().Head().NumSeries(); got != uint64(n1) {
		t.Fatalf("%d series, want %d (the fallback made new ones?)", got, n1)
	}
}

// byLabels counts the appends that name their series by labels instead
// of a cached reference.
type byLabels struct {
	storage.Appender
	n int
}

func (a *byLabels) Append(ref storage.SeriesRef, l labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	if ref == 0 {
		a.n++
	}
	return a.Appender.Append(ref, l, t, v)
}

// A node's payloads change shape: a service goes from the middle, one
// from the end, one comes at the end, one is sent twice. Each time the
// series of the previous payload are found by reference (in order or
// not), only new series are named by labels, and exactly the vanished
// ones are marked stale.
func TestAppendPayloadAfter_ShapeChanges(t *testing.T) {
	now := time.Now()
	s := openTestStore(t, t.TempDir(), func() time.Time { return now })
	defer s.Close()
	nl := NodeLabels{NodeID: "n1", Node: "web-1"}
	svc := func(names ...string) *structs.HostMetrics {
		p := &structs.HostMetrics{}
		for _, n := range names {
			state := "running"
			p.Services = append(p.Services, structs.ServiceMetrics{ContainerName: n, State: &state})
		}
		return p
	}
	count := func(at time.Time) int { t.Helper(); return containerSeriesAlive(t, s, at) }
	var prev Written
	at := now.Add(-10 * time.Minute)
	for i, step := range []struct {
		p               *structs.HostMetrics
		byLabels, alive int
	}{
		{svc("a", "b", "c", "d"), 5, 4},
		{svc("a", "b", "c", "d"), 0, 4},      // same shape: every series in order
		{svc("a", "c", "d"), 0, 3},           // b gone from the middle
		{svc("a", "c"), 0, 2},                // d gone from the end, in order
		{svc("a", "c", "e"), 1, 3},           // e new at the end
		{svc("a", "a", "c", "e", "b"), 1, 4}, // a twice (one series), b back (not in the last payload: by labels)
	} {
		at = at.Add(10 * time.Second)
		a := &byLabels{Appender: s.DB().Appender(context.Background())}
		_, written, err := AppendPayloadAfter(a, nl, step.p, at.UnixMilli(), prev, prev != nil)
		if err != nil || a.Commit() != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		// Each service here writes one series, its state; the host one,
		// its last push's time (the first payload's fifth by labels).
		if a.n != step.byLabels {
			t.Errorf("step %d: %d series named by labels, want %d", i, a.n, step.byLabels)
		}
		if n := count(at.Add(time.Second)); n != step.alive {
			t.Errorf("step %d: %d container series alive, want %d", i, n, step.alive)
		}
		keys := map[uint64]bool{}
		for _, ws := range written {
			if keys[ws.Key] || ws.Ref == 0 {
				t.Fatalf("step %d: written %v has a repeated key or no reference", i, written)
			}
			keys[ws.Key] = true
		}
		prev = written
	}
}

// containerSeriesAlive is how many container state series s shows at at,
// stale ones left out.
func containerSeriesAlive(t *testing.T, s *Store, at time.Time) int {
	t.Helper()
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	q, err := engine.NewInstantQuery(context.Background(), storage.QueryableFunc(s.Querier), nil, MetricContainerState, at)
	if err != nil {
		t.Fatal(err)
	}
	v, err := q.Exec(context.Background()).Vector()
	if err != nil {
		t.Fatal(err)
	}
	return len(v)
}
