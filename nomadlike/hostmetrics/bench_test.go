package hostmetrics

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"

	"github.com/nomadlike/nomadlike/structs"
)

// BenchmarkDecode validates and decodes the realistic payload; ingest's
// budget is well under 200 µs for it.
func BenchmarkDecode(b *testing.B) {
	body := RealisticPayload(1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodePooled is BenchmarkDecode with the storage reused, as
// the ingest endpoint decodes.
func BenchmarkDecodePooled(b *testing.B) {
	body := RealisticPayload(1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_, _, release, err := DecodePooled(body)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}

// BenchmarkDecode_encodingJSON is the baseline DESIGN.md compares with:
// encoding/json's typed decode alone, which checks none of the schema.
func BenchmarkDecode_encodingJSON(b *testing.B) {
	body := RealisticPayload(1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var p structs.HostMetrics
		if err := json.Unmarshal(body, &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode_invalid is the error path: a schema violation near the
// end, then the syntax pass over the whole body.
func BenchmarkDecode_invalid(b *testing.B) {
	body := RealisticPayload(1)
	body = append(body[:len(body)-1:len(body)-1], `,"uptime":-1}`...)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Decode(body); err == nil || err.Field != "uptime" {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendPayload appends the realistic payload to a TSDB head, one
// payload (one timestamp) per iteration, and commits it.
func BenchmarkAppendPayload(b *testing.B) {
	db, err := tsdb.Open(b.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	p, _, ierr := Decode(RealisticPayload(1))
	if ierr != nil {
		b.Fatal(ierr)
	}
	nl := NodeLabels{NodeID: "5f0c2a1e-0000-4000-8000-000000000001", Node: "web-1", Datacenter: "dc1"}
	ctx := context.Background()
	t := int64(1776254400000)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		app := db.Appender(ctx)
		if n, err = AppendPayload(app, nl, p, t); err != nil {
			b.Fatal(err)
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		t += 10_000
	}
	b.ReportMetric(float64(n), "samples/op")
}

// BenchmarkStore_Ingest is the server's whole ingest of a realistic
// payload after validation: append with the node's series cache, commit,
// latest payload, over 200 nodes in turn.
func BenchmarkStore_Ingest(b *testing.B) {
	base := time.Now().Add(-50 * time.Minute)
	s, err := OpenStore(StoreConfig{Dir: b.TempDir(), Now: func() time.Time { return base.Add(40 * time.Minute) }})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := RealisticPayload(1)
	p, _, ierr := Decode(body)
	if ierr != nil {
		b.Fatal(ierr)
	}
	p.CollectedAt = nil // the samples' time is the loop's
	const nodes = 200
	nls := make([]NodeLabels, nodes)
	for i := range nls {
		id := fmt.Sprintf("node-%03d", i)
		nls[i] = NodeLabels{NodeID: id, Node: id, Datacenter: "dc1"}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at := base.Add(time.Duration(i/nodes) * 10 * time.Millisecond)
		if _, err := s.Ingest(nls[i%nodes], p, body, at, "s1"); err != nil {
			b.Fatal(err)
		}
	}
}
