package fsm

import (
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

// Every registered message type has a readable, bounded metric label.
func TestMessageTypeName(t *testing.T) {
	for typ, want := range map[structs.MessageType]string{
		structs.ACLPolicyUpsertRequestType:                               "acl_policy_upsert",
		structs.NodeUpdateStatusRequestType:                              "node_update_status",
		structs.PipelineApplyRequestType:                                 "pipelines",
		structs.NodeAssignmentUpsertRequestType:                          "assignment_upsert",
		structs.ACLTokenBootstrapRequestType:                             "acl_token_bootstrap",
		structs.PipelineApplyRequestType | structs.IgnoreUnknownTypeFlag: "pipelines",
		structs.MessageType(120):                                         "unknown",
	} {
		if got := MessageTypeName(typ); got != want {
			t.Errorf("type %d: %q, want %q", typ, got, want)
		}
	}
	seen := map[string]structs.MessageType{}
	for typ := range appliers {
		n := MessageTypeName(typ)
		if other, dup := seen[n]; dup || n == "" || n == "unknown" {
			t.Errorf("type %d: label %q (also type %d)", typ, n, other)
		}
		seen[n] = typ
	}
}
