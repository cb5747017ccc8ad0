package fsm

import (
	"crypto/subtle"
	"fmt"
	"net/http"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

// UpsertACLPolicies creates or replaces policies; CreateIndex survives a
// replace.
func (s *StateStore) UpsertACLPolicies(index uint64, policies []*structs.ACLPolicy) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	for _, p := range policies {
		c := *p
		existing, err := txn.First(tableACLPolicies, "id", c.Name)
		if err != nil {
			return fmt.Errorf("policy lookup failed: %w", err)
		}
		c.CreateIndex = index
		if existing != nil {
			c.CreateIndex = existing.(*structs.ACLPolicy).CreateIndex
		}
		c.ModifyIndex = index
		if err := txn.Insert(tableACLPolicies, &c); err != nil {
			return fmt.Errorf("policy insert failed: %w", err)
		}
	}
	if err := setIndex(txn, tableACLPolicies, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// DeleteACLPolicies deletes policies; an unknown name fails the whole
// request.
func (s *StateStore) DeleteACLPolicies(index uint64, names []string) error {
	return s.deleteAll(index, tableACLPolicies, names, func(name string) error {
		return structs.NewErrCoded(http.StatusNotFound, "ACL policy %q not found", name)
	})
}

// ACLPolicyByName returns a policy or nil.
func (s *StateStore) ACLPolicyByName(ws memdb.WatchSet, name string) (*structs.ACLPolicy, error) {
	return first[structs.ACLPolicy](s, ws, tableACLPolicies, "id", name)
}

// ACLPolicies returns every policy by name.
func (s *StateStore) ACLPolicies(ws memdb.WatchSet) ([]*structs.ACLPolicy, error) {
	return list[structs.ACLPolicy](s, ws, tableACLPolicies, "")
}

// UpsertACLTokens creates or updates tokens; CreateIndex survives an
// update.
func (s *StateStore) UpsertACLTokens(index uint64, tokens []*structs.ACLToken) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if err := upsertTokensTxn(txn, index, tokens); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

func upsertTokensTxn(txn *memdb.Txn, index uint64, tokens []*structs.ACLToken) error {
	for _, t := range tokens {
		c := *t
		existing, err := txn.First(tableACLTokens, "id", c.AccessorID)
		if err != nil {
			return fmt.Errorf("token lookup failed: %w", err)
		}
		c.CreateIndex = index
		if existing != nil {
			c.CreateIndex = existing.(*structs.ACLToken).CreateIndex
		}
		c.ModifyIndex = index
		if err := txn.Insert(tableACLTokens, &c); err != nil {
			return fmt.Errorf("token insert failed: %w", err)
		}
	}
	return setIndex(txn, tableACLTokens, index)
}

// DeleteACLTokens deletes tokens; an unknown accessor fails the whole
// request.
func (s *StateStore) DeleteACLTokens(index uint64, accessors []string) error {
	return s.deleteAll(index, tableACLTokens, accessors, func(id string) error {
		return structs.NewErrCoded(http.StatusNotFound, "ACL token %q not found", id)
	})
}

// ACLTokenByAccessorID returns a token or nil.
func (s *StateStore) ACLTokenByAccessorID(ws memdb.WatchSet, id string) (*structs.ACLToken, error) {
	return first[structs.ACLToken](s, ws, tableACLTokens, "id", id)
}

// ACLTokenBySecretID returns the token with this secret, or nil. The
// secret is compared in constant time.
func (s *StateStore) ACLTokenBySecretID(ws memdb.WatchSet, secret string) (*structs.ACLToken, error) {
	t, err := first[structs.ACLToken](s, ws, tableACLTokens, "secret", secret)
	if err != nil || t == nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(t.SecretID), []byte(secret)) != 1 {
		return nil, nil
	}
	return t, nil
}

// ACLTokens returns every token by accessor ID.
func (s *StateStore) ACLTokens(ws memdb.WatchSet) ([]*structs.ACLToken, error) {
	return list[structs.ACLToken](s, ws, tableACLTokens, "")
}

// CanBootstrapACLToken tells whether bootstrap is still possible and the
// index of the bootstrap that was done (0 if none).
func (s *StateStore) CanBootstrapACLToken() (bool, uint64, error) {
	idx, err := s.Index(indexACLBootstrap)
	return idx == 0, idx, err
}

// BootstrapACLTokens stores the first management token, once. resetIndex
// re-allows it: it must equal the index of the bootstrap being undone, as
// Nomad's reset file names it.
func (s *StateStore) BootstrapACLTokens(index, resetIndex uint64, token *structs.ACLToken) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	raw, err := txn.First(tableIndex, "id", indexACLBootstrap)
	if err != nil {
		return err
	}
	if raw != nil {
		done := raw.(*IndexEntry).Value
		if resetIndex == 0 || resetIndex != done {
			return structs.NewErrCoded(http.StatusBadRequest, "ACL bootstrap already done (reset index: %d)", done)
		}
	}
	if err := upsertTokensTxn(txn, index, []*structs.ACLToken{token}); err != nil {
		return err
	}
	if err := setIndex(txn, indexACLBootstrap, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// ACLPolicyRestore restores one policy from a snapshot.
func (r *StateRestore) ACLPolicyRestore(p *structs.ACLPolicy) error {
	return r.txn.Insert(tableACLPolicies, p)
}

// ACLTokenRestore restores one token from a snapshot.
func (r *StateRestore) ACLTokenRestore(t *structs.ACLToken) error {
	return r.txn.Insert(tableACLTokens, t)
}
