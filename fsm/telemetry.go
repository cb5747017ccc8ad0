package fsm

import (
	"reflect"
	"runtime"
	"strings"
	"time"
	"unicode"

	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/structs"
)

// typeNames names each registered message type for metric labels, from
// its apply function: applyACLPolicyUpsert is "acl_policy_upsert". The
// set is the dispatch table's, so the label's values are bounded.
var typeNames = map[structs.MessageType]string{}

// applierName derives a message type's label from its apply function.
func applierName(fn applyFn) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	name = name[strings.LastIndexByte(name, '.')+1:]
	name = strings.TrimSuffix(strings.TrimPrefix(name, "apply"), "-fm")
	return snakeCase(name)
}

// snakeCase turns "ACLPolicyUpsert" into "acl_policy_upsert".
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 &&
			(unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]) && unicode.IsUpper(r[i-1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// MessageTypeName is the metric label of message type t: its apply
// function's name in snake case, or "unknown" for a type this version
// does not apply.
func MessageTypeName(t structs.MessageType) string {
	if n, ok := typeNames[t&^structs.IgnoreUnknownTypeFlag]; ok {
		return n
	}
	return "unknown"
}

// measureApply records how long one entry of type t took to apply, as
// Nomad's nomad.nomad.fsm.<type> (a label here rather than a name).
func measureApply(t structs.MessageType, start time.Time) {
	metrics.MeasureSinceWithLabels([]string{"nomadlike", "fsm", "apply"}, start,
		[]metrics.Label{{Name: "type", Value: MessageTypeName(t)}})
}
