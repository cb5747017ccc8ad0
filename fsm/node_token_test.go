package fsm

import (
	"errors"
	"net/http"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

func tokenReq(name, id, secret string) *structs.NodeTokenCreateRequest {
	return &structs.NodeTokenCreateRequest{Name: name, Datacenter: "dc1", NodeID: id, SecretID: secret, UpdatedAt: 1700000000}
}

func applyToken(t *testing.T, f *FSM, index uint64, req *structs.NodeTokenCreateRequest) (*NodeTokenApplyResult, error) {
	t.Helper()
	switch res := f.Apply(makeLog(t, index, structs.NodeTokenCreateRequestType, req)).(type) {
	case *NodeTokenApplyResult:
		return res, nil
	case error:
		return nil, res
	default:
		t.Fatalf("apply answered %#v", res)
		return nil, nil
	}
}

func isConflict(err error) bool {
	var coded *structs.CodedError
	return errors.As(err, &coded) && coded.Code == http.StatusConflict
}

func TestFSM_NodeTokenCreateRotateAndLookup(t *testing.T) {
	f := testFSM(t)
	res, err := applyToken(t, f, 1, tokenReq("web-1", "ext-1", "secret-1"))
	if err != nil || res.NodeID != "ext-1" || res.SecretID != "secret-1" || res.Name != "web-1" {
		t.Fatalf("create: %+v %v", res, err)
	}
	n, err := f.State().NodeBySecretID(nil, "secret-1")
	if err != nil || n == nil || n.ID != "ext-1" || !n.External || n.Status != structs.NodeStatusReady ||
		n.Attributes[ExternalNodeAttribute] != "true" || n.CreateIndex != 1 {
		t.Fatalf("lookup: %+v %v", n, err)
	}

	// The same request again (a retry that lost its reply) changes nothing.
	if res, err := applyToken(t, f, 2, tokenReq("web-1", "ext-1", "secret-1")); err != nil || res.SecretID != "secret-1" {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	if n, _ := f.State().NodeByID(nil, "ext-1"); n.ModifyIndex != 1 {
		t.Fatalf("repeat wrote: modify index %d", n.ModifyIndex)
	}

	// A new token for the name rotates: same node, new secret, old one gone.
	res, err = applyToken(t, f, 3, tokenReq("web-1", "ext-other", "secret-2"))
	if err != nil || res.NodeID != "ext-1" || res.SecretID != "secret-2" {
		t.Fatalf("rotate: %+v %v", res, err)
	}
	if n, _ := f.State().NodeBySecretID(nil, "secret-1"); n != nil {
		t.Fatalf("old secret still finds %s", n.ID)
	}
	if n, _ := f.State().NodeBySecretID(nil, "secret-2"); n == nil || n.ID != "ext-1" || n.CreateIndex != 1 || n.ModifyIndex != 3 {
		t.Fatalf("new secret finds %+v", n)
	}
	if n, _ := f.State().NodeByID(nil, "ext-other"); n != nil {
		t.Fatal("rotation created a second node")
	}

	// A client node's name is refused, and nothing is written.
	if err := f.State().UpsertNode(4, mockNode("c1"), 1700000000); err != nil {
		t.Fatal(err)
	}
	if _, err := applyToken(t, f, 5, tokenReq("node-c1", "ext-2", "secret-3")); !isConflict(err) {
		t.Fatalf("client node's name: %v", err)
	}
	if n, _ := f.State().NodeByID(nil, "ext-2"); n != nil {
		t.Fatal("a refused request created a node")
	}
	// A client's own secret finds it too.
	if n, _ := f.State().NodeBySecretID(nil, "s-c1"); n == nil || n.ID != "c1" {
		t.Fatalf("client secret finds %+v", n)
	}
	// A secret another node holds is refused.
	if _, err := applyToken(t, f, 6, tokenReq("web-2", "ext-3", "s-c1")); !isConflict(err) {
		t.Fatalf("taken secret: %v", err)
	}
	if n, err := f.State().NodeBySecretID(nil, ""); n != nil || err != nil {
		t.Fatalf("empty secret finds %+v %v", n, err)
	}
	if n, err := f.State().NodeBySecretID(nil, "nope"); n != nil || err != nil {
		t.Fatalf("unknown secret finds %+v %v", n, err)
	}
}

// A restored state finds nodes by secret and by name, keeps External, and
// answers a repeated request from before the snapshot with its first
// result.
func TestFSM_NodeTokenSurvivesRestore(t *testing.T) {
	f := testFSM(t)
	f.Apply(reqLog(t, 1, "mint-1", reqT0, structs.NodeTokenCreateRequestType, tokenReq("web-1", "ext-1", "secret-1")))
	if err := f.State().UpsertNode(2, mockNode("c1"), 1700000000); err != nil {
		t.Fatal(err)
	}
	// A node of an old log with neither secret nor name still restores.
	old := mockNode("old")
	old.SecretID, old.Name = "", ""
	if err := f.State().UpsertNode(3, old, 1700000000); err != nil {
		t.Fatal(err)
	}

	f2 := testSnapshotRestore(t, f)
	n, err := f2.State().NodeBySecretID(nil, "secret-1")
	if err != nil || n == nil || n.ID != "ext-1" || !n.External {
		t.Fatalf("restored lookup: %+v %v", n, err)
	}
	if named, _ := f2.State().NodesByName(nil, "web-1"); len(named) != 1 || named[0].ID != "ext-1" {
		t.Fatalf("restored by name: %+v", named)
	}
	if n, _ := f2.State().NodeBySecretID(nil, "s-c1"); n == nil || n.External {
		t.Fatalf("restored client: %+v", n)
	}
	// The repeat picked other IDs; it gets the stored ones.
	res := f2.Apply(reqLog(t, 4, "mint-1", reqT0, structs.NodeTokenCreateRequestType, tokenReq("web-1", "ext-9", "secret-9")))
	if r, ok := res.(*NodeTokenApplyResult); !ok || r.NodeID != "ext-1" || r.SecretID != "secret-1" {
		t.Fatalf("repeat after restore answered %#v", res)
	}
	if n, _ := f2.State().NodeBySecretID(nil, "secret-9"); n != nil {
		t.Fatal("the repeat applied")
	}
}
