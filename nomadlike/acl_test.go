package nomadlike

import (
	"errors"
	"testing"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/structs"
)

// A fresh cluster with ACLs on has written no ACL table yet (index 0); the
// resolver's first cache fill must work there too (it once panicked on a
// nil map when the first caller was a client agent with no token).
func TestServer_ResolveTokenBeforeAnyACLWrite(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) { c.ACLEnabled = true })
	WaitForLeader(t, s)
	for i := 0; i < 2; i++ {
		a, tok, err := s.ResolveToken("")
		if err != nil || tok.AccessorID != acl.AnonymousTokenID {
			t.Fatalf("anonymous: %v %v", tok, err)
		}
		if a.Allow(acl.NodeWrite) {
			t.Fatal("anonymous may write nodes with no anonymous policy")
		}
	}
	var resp structs.NodeUpdateResponse
	err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode()}, &resp)
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("register without a token: %v", err)
	}
}
