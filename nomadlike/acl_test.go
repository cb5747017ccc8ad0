package nomadlike

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

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

// TestServer_UnknownSecretsBoundLeaderRPCs: on a follower every unknown
// secret cost a Status.LatestIndex RPC to the leader (and up to 2 s of
// polling), so a flood of guessed secrets became a flood on the leader.
// Catch-ups are coalesced and paced, and a secret found unknown is
// remembered briefly, so the leader RPCs stay bounded by time, not by the
// number of secrets. A token created through the leader still resolves at
// once on the follower.
func TestServer_UnknownSecretsBoundLeaderRPCs(t *testing.T) {
	cb := func(c *Config) { c.ACLEnabled = true; c.BootstrapExpect = 2 }
	s1, _ := TestServer(t, cb)
	s2, _ := TestServer(t, cb)
	TestJoin(t, s1, s2)
	leader := WaitForLeader(t, s1, s2)
	follower := s1
	if leader == s1 {
		follower = s2
	}
	var boot structs.ACLTokenUpsertResponse
	if err := leader.RPC("ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); err != nil {
		t.Fatal(err)
	}
	mgmt := boot.Tokens[0].SecretID

	rounds := func() uint64 { return follower.aclCache.catchUp.rounds.Load() }
	const workers, perWorker = 20, 25
	before := rounds()
	start := time.Now()
	var wg sync.WaitGroup
	secrets := make(chan string, workers*perWorker)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				secret := uuid.NewString()
				if _, _, err := follower.ResolveToken(secret); !errors.Is(err, structs.ErrTokenNotFound) {
					t.Errorf("unknown secret: %v", err)
				}
				secrets <- secret
			}
		}()
	}
	wg.Wait()
	close(secrets)
	elapsed := time.Since(start)
	// One round per interval, plus the one running when the clock
	// started and the last one.
	bound := uint64(elapsed/aclCatchUpInterval) + 2
	if got := rounds() - before; got > bound || got >= workers*perWorker/4 {
		t.Fatalf("%d unknown secrets in %s made %d leader RPCs, want at most %d",
			workers*perWorker, elapsed.Round(time.Millisecond), got, bound)
	}

	// The same secrets again: answered from the not-found cache, no RPC.
	before = rounds()
	for secret := range secrets {
		if _, _, err := follower.ResolveToken(secret); !errors.Is(err, structs.ErrTokenNotFound) {
			t.Fatalf("repeated unknown secret: %v", err)
		}
	}
	if got := rounds() - before; got != 0 {
		t.Fatalf("repeated unknown secrets made %d leader RPCs", got)
	}

	// A token made through the leader resolves on the follower at once,
	// catch-up included.
	var out structs.ACLTokenUpsertResponse
	args := structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{{Name: "fresh", Type: structs.ACLClientToken, Policies: []string{"any"}}}}
	args.AuthToken = mgmt
	if err := leader.RPC("ACL.UpsertTokens", &args, &out); err != nil {
		t.Fatal(err)
	}
	if _, tok, err := follower.ResolveToken(out.Tokens[0].SecretID); err != nil || tok.Name != "fresh" {
		t.Fatalf("fresh token on the follower: %v %v", tok, err)
	}
}
