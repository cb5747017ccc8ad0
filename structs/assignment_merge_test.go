package structs

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

func TestMergePipelines_Empty(t *testing.T) {
	for _, in := range [][]*Pipeline{nil, {}, {nil}} {
		content, hash := MergePipelines(in)
		sum := sha256.Sum256([]byte(NoPipelinesContent))
		if content != NoPipelinesContent || hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("MergePipelines(%v) = %q, %q", in, content, hash)
		}
	}
}

func TestMergePipelines_Format(t *testing.T) {
	content, hash := MergePipelines([]*Pipeline{
		{ID: "2", Name: "zeta", Contents: "prometheus.exporter.self \"z\" { }"},
		{ID: "1", Name: "alpha", Contents: "logging {}\n"},
	})
	want := `// Assembled by nomadlike from 2 pipeline(s). Do not edit: each pipeline is its own module.

// pipeline "alpha" (id 1)
declare "alpha" {
logging {}
}
alpha "default" { }

// pipeline "zeta" (id 2)
declare "zeta" {
prometheus.exporter.self "z" { }
}
zeta "default" { }
`
	if content != want {
		t.Fatalf("content:\n%s\nwant:\n%s", content, want)
	}
	sum := sha256.Sum256([]byte(want))
	if hash != hex.EncodeToString(sum[:]) || len(hash) != 64 {
		t.Fatalf("hash %s is not the hex SHA-256 of the content", hash)
	}
}

// The result depends on the set of pipelines, not on their order or on
// fields that change without changing what the collector runs.
func TestMergePipelines_Deterministic(t *testing.T) {
	a := &Pipeline{ID: "1", Name: "a", Contents: "x {}", CreateIndex: 4, ModifyIndex: 9}
	b := &Pipeline{ID: "2", Name: "b", Contents: "y {}"}
	c1, h1 := MergePipelines([]*Pipeline{a, b})
	c2, h2 := MergePipelines([]*Pipeline{b, nil, a})
	if c1 != c2 || h1 != h2 {
		t.Fatalf("order changed the result:\n%s\n%s", c1, c2)
	}
	a2 := a.Copy()
	a2.ModifyIndex, a2.Enabled = 100, true
	if _, h := MergePipelines([]*Pipeline{a2, b}); h != h1 {
		t.Fatal("raft index or enabled flag changed the hash")
	}
	a2.Contents = "x { changed = true }"
	if _, h := MergePipelines([]*Pipeline{a2, b}); h == h1 {
		t.Fatal("changed contents kept the hash")
	}
	if _, h := MergePipelines([]*Pipeline{a}); h == h1 {
		t.Fatal("a removed pipeline kept the hash")
	}
	// The input slice is not reordered.
	in := []*Pipeline{b, a}
	MergePipelines(in)
	if in[0] != b || in[1] != a {
		t.Fatal("MergePipelines sorted its argument")
	}
}

func TestMergePipelines_Labels(t *testing.T) {
	cases := map[string]string{
		"self_monitoring": "self_monitoring",
		"Linux2":          "Linux2",
		"my-pipeline":     "my_pipeline_",
		"a.b":             "a_b_",
		"1st":             "p_1st_",
		"logging":         "logging_",
		"prometheus":      "prometheus_",
	}
	for name, prefix := range cases {
		got := pipelineLabel(name)
		if name == prefix {
			if got != name {
				t.Errorf("label of %q = %q, want the name", name, got)
			}
			continue
		}
		if !strings.HasPrefix(got, prefix) || len(got) != len(prefix)+8 || !isAlloyIdent(got) {
			t.Errorf("label of %q = %q, want %q + 8 hex digits", name, got, prefix)
		}
	}
	// Names that sanitize alike still get distinct labels.
	if pipelineLabel("a-b") == pipelineLabel("a.b") {
		t.Fatal("a-b and a.b share a label")
	}
	content, _ := MergePipelines([]*Pipeline{{ID: "1", Name: "x"}, {ID: "2", Name: "x"}})
	if !strings.Contains(content, `declare "x" {`) || !strings.Contains(content, `declare "x_2" {`) || !strings.Contains(content, "x_2 \"default\" { }") {
		t.Fatalf("duplicate labels not made unique:\n%s", content)
	}
}
