package fsm

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

func TestCheckSnapshot_CountsEveryRecord(t *testing.T) {
	f := testFSM(t)
	if err, ok := f.Apply(makeLog(t, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("n1")})).(error); ok {
		t.Fatal(err)
	}
	res := mustApplyP(t, f, 2, ops(create(pipe("a")), create(pipe("b"))))
	p := res.Pipelines[0].Copy()
	p.Contents = "// v2"
	mustApplyP(t, f, 3, ops(update(p)))
	buf := persistBytes(t, f)

	counts, err := CheckSnapshot(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	// a: insert + update (the current one a reference record), b: insert.
	for name, want := range map[string]int{"Node": 1, "Pipeline": 2, "PipelineRevision": 3} {
		if counts[name] != want {
			t.Fatalf("counts = %v, want %s = %d", counts, name, want)
		}
	}
	if _, err := CheckSnapshot(bytes.NewReader(buf[:len(buf)-4])); err == nil {
		t.Fatal("a truncated snapshot was accepted")
	}
	if _, err := CheckSnapshot(strings.NewReader("")); err == nil {
		t.Fatal("an empty snapshot was accepted")
	}
}

func TestRaiseIndexRecords(t *testing.T) {
	f := testFSM(t)
	mustApplyP(t, f, 5, ops(create(pipe("a"))))
	tail, err := RaiseIndexRecords(1000)
	if err != nil {
		t.Fatal(err)
	}
	f2 := testFSM(t)
	snap := append(persistBytes(t, f), tail...)
	if err := f2.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{tablePipelines, tablePipelineRevisions, tableNodes, tableACLTokens, tableConfigs} {
		if idx, _ := f2.State().Index(table); idx != 1000 {
			t.Fatalf("index of %s = %d, want 1000", table, idx)
		}
	}
	if latest, _ := f2.State().LatestIndex(); latest != 1000 {
		t.Fatalf("latest index = %d", latest)
	}
	ps, err := f2.State().Pipelines(nil)
	if err != nil || len(ps) != 1 || ps[0].Name != "a" {
		t.Fatalf("pipelines after restore: %v %v", ps, err)
	}
}
