package fsm

import (
	"errors"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

func TestFSM_ACLLifecycleAndSnapshot(t *testing.T) {
	f := testFSM(t)
	pol := &structs.ACLPolicy{Name: "readonly", Rules: `node { policy = "read" }`}
	pol.SetHash()
	if resp := f.Apply(makeLog(t, 1, structs.ACLPolicyUpsertRequestType, &structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{pol}})); resp != nil {
		t.Fatal(resp)
	}
	exp := time.Now().Add(time.Hour).UTC().Round(time.Second)
	tok := &structs.ACLToken{AccessorID: "acc-1", SecretID: "sec-1", Name: "t", Type: structs.ACLClientToken,
		Policies: []string{"readonly"}, CreateTime: time.Unix(100, 0).UTC(), ExpirationTime: &exp}
	if resp, ok := f.Apply(makeLog(t, 2, structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{tok}})).(*ACLTokenApplyResult); !ok || len(resp.AccessorIDs) != 1 || resp.AccessorIDs[0] != "acc-1" {
		t.Fatal(resp)
	}
	boot := &structs.ACLToken{AccessorID: "acc-boot", SecretID: "sec-boot", Type: structs.ACLManagementToken}
	if resp, ok := f.Apply(makeLog(t, 3, structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: boot})).(*ACLTokenApplyResult); !ok || resp.AccessorIDs[0] != "acc-boot" {
		t.Fatal(resp)
	}
	// A second bootstrap is refused, naming the reset index; the right
	// reset index allows it again.
	again := &structs.ACLToken{AccessorID: "acc-boot2", SecretID: "sec-boot2", Type: structs.ACLManagementToken}
	resp := f.Apply(makeLog(t, 4, structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: again}))
	if err, ok := resp.(error); !ok || err.Error() != "RPC Error:: 400,ACL bootstrap already done (reset index: 3)" {
		t.Fatalf("second bootstrap: %v", resp)
	}
	if ok, idx, _ := f.State().CanBootstrapACLToken(); ok || idx != 3 {
		t.Fatalf("can bootstrap %v %d", ok, idx)
	}

	f2 := testSnapshotRestore(t, f)
	got, _ := f2.State().ACLTokenBySecretID(nil, "sec-1")
	if got == nil || got.AccessorID != "acc-1" || got.ExpirationTime == nil || !got.ExpirationTime.Equal(exp) ||
		got.CreateIndex != 2 || len(got.Policies) != 1 {
		t.Fatalf("restored token %+v", got)
	}
	p, _ := f2.State().ACLPolicyByName(nil, "readonly")
	if p == nil || p.Rules != pol.Rules || len(p.Hash) == 0 {
		t.Fatalf("restored policy %+v", p)
	}
	if ok, idx, _ := f2.State().CanBootstrapACLToken(); ok || idx != 3 {
		t.Fatalf("bootstrap state lost in snapshot: %v %d", ok, idx)
	}
	if resp, ok := f2.Apply(makeLog(t, 5, structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: again, ResetIndex: 3})).(*ACLTokenApplyResult); !ok {
		t.Fatalf("reset bootstrap: %v", resp)
	}

	// Deletes are all or nothing.
	resp = f.Apply(makeLog(t, 6, structs.ACLTokenDeleteRequestType, &structs.ACLTokenDeleteRequest{AccessorIDs: []string{"acc-1", "nope"}}))
	var coded *structs.CodedError
	if err, ok := resp.(error); !ok || !errors.As(err, &coded) || coded.Code != 404 {
		t.Fatalf("partial delete: %v", resp)
	}
	if tok, _ := f.State().ACLTokenByAccessorID(nil, "acc-1"); tok == nil {
		t.Fatal("failed delete removed a token")
	}
	if resp := f.Apply(makeLog(t, 7, structs.ACLPolicyDeleteRequestType, &structs.ACLPolicyDeleteRequest{Names: []string{"readonly"}})); resp != nil {
		t.Fatal(resp)
	}
	if ps, _ := f.State().ACLPolicies(nil); len(ps) != 0 {
		t.Fatalf("policies after delete: %v", ps)
	}
}
