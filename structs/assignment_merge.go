package structs

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// NoPipelinesContent is what MergePipelines assembles from no pipelines.
// It is a comment, not an empty document: Alloy treats empty content as
// "nothing to load" and keeps running the pipelines it had, so taking the
// last pipeline away from a collector must send something it loads.
const NoPipelinesContent = "// nomadlike: no pipeline is assigned to this collector.\n"

// MergePipelines assembles the configuration a collector runs from the
// pipelines assigned to it, and returns it with its hash (hex SHA-256 of
// the content). Callers choose the pipelines (enabled, matching the
// collector's attributes, Alloy syntax); MergePipelines only assembles.
//
// Each pipeline becomes an Alloy module of its own, as Fleet Management
// assembles them: its contents, verbatim, inside
//
//	declare "<label>" {
//	<contents>
//	}
//	<label> "default" { }
//
// so two pipelines may each define a component with the same name, and a
// pipeline's components appear in Alloy's UI under "<label>.default". The
// label is the pipeline's name when that is an Alloy identifier and not a
// name Alloy itself uses; otherwise the name with every other character
// turned into '_' and 8 hex digits of its SHA-256 appended, so that it
// stays unique. Pipelines are ordered by name (then ID), so the content,
// and its hash, depend only on the set of pipelines and their names, IDs
// and contents: not on their order, timestamps or raft indexes. No
// pipelines give NoPipelinesContent. Nil entries are skipped.
func MergePipelines(pipelines []*Pipeline) (content, hash string) {
	sorted := make([]*Pipeline, 0, len(pipelines))
	for _, p := range pipelines {
		if p != nil {
			sorted = append(sorted, p)
		}
	}
	slices.SortFunc(sorted, func(a, b *Pipeline) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	var b strings.Builder
	if len(sorted) == 0 {
		b.WriteString(NoPipelinesContent)
	} else {
		fmt.Fprintf(&b, "// Assembled by nomadlike from %d pipeline(s). Do not edit: each pipeline is its own module.\n", len(sorted))
	}
	used := map[string]bool{}
	for _, p := range sorted {
		label := uniqueLabel(pipelineLabel(p.Name), used)
		fmt.Fprintf(&b, "\n// pipeline %q (id %s)\ndeclare %q {\n", p.Name, p.ID, label)
		b.WriteString(p.Contents)
		if p.Contents != "" && !strings.HasSuffix(p.Contents, "\n") {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "}\n%s \"default\" { }\n", label)
	}
	content = b.String()
	sum := sha256.Sum256([]byte(content))
	return content, hex.EncodeToString(sum[:])
}

// alloyReserved are names a declare label must not take: Alloy's own
// top-level blocks and keywords, and the namespaces of its built-in
// components (a custom component named like one would shadow or clash).
var alloyReserved = map[string]bool{
	"argument": true, "export": true, "declare": true, "import": true, "logging": true, "tracing": true,
	"http": true, "remotecfg": true, "livedebugging": true, "foreach": true, "true": true, "false": true,
	"null": true, "prometheus": true, "loki": true, "otelcol": true, "discovery": true, "local": true,
	"remote": true, "mimir": true, "pyroscope": true, "faro": true, "beyla": true, "pyroscope_java": true,
	"database_observability": true, "module": true, "constants": true, "sys": true, "env": true,
}

// pipelineLabel is the declare label of a pipeline named name.
func pipelineLabel(name string) string {
	if isAlloyIdent(name) && !alloyReserved[name] {
		return name
	}
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteString("p_")
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(name))
	return b.String() + "_" + hex.EncodeToString(sum[:4])
}

// uniqueLabel returns label, or label with the first free "_<n>" suffix
// when an earlier pipeline of this merge already took it, and records it.
func uniqueLabel(label string, used map[string]bool) string {
	out := label
	for n := 2; used[out]; n++ {
		out = fmt.Sprintf("%s_%d", label, n)
	}
	used[out] = true
	return out
}

// isAlloyIdent reports whether s is an Alloy identifier: a letter or '_',
// then letters, digits and '_' (ASCII).
func isAlloyIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
