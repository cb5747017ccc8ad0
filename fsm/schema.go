package fsm

import (
	"crypto/sha256"
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/structs"
)

// Table names.
const (
	tableIndex       = "index"
	tableNodes       = "nodes"
	tableACLPolicies = "acl_policy"
	tableACLTokens   = "acl_token"
	// Desired state and its history.
	tablePipelines         = "pipelines"
	tablePipelineRevisions = "pipeline_revisions"
	tableConfigs           = "configs"
	tableConfigRevisions   = "config_revisions"
	tableCounters          = "counters"
	// tableAssignments holds the scheduler workers' decisions per node.
	tableAssignments = "assignments"
	tableCollectors  = "collectors"
	// indexACLBootstrap is the index-table key that records the raft
	// index of the ACL bootstrap.
	indexACLBootstrap = "acl_token_bootstrap"
)

// schemaFuncs lists one function per table; stateStoreSchema assembles
// them and panics on a duplicate table name.
var schemaFuncs = []func() *memdb.TableSchema{
	indexTableSchema,
	nodeTableSchema,
	aclPolicyTableSchema,
	aclTokenTableSchema,
	pipelineTableSchema,
	pipelineRevisionTableSchema,
	configTableSchema,
	configRevisionTableSchema,
	counterTableSchema,
	assignmentTableSchema,
	collectorTableSchema,
}

func stateStoreSchema() *memdb.DBSchema {
	db := &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{}}
	for _, fn := range schemaFuncs {
		t := fn()
		if _, ok := db.Tables[t.Name]; ok {
			panic(fmt.Sprintf("duplicate table %q", t.Name))
		}
		db.Tables[t.Name] = t
	}
	return db
}

// IndexEntry records the raft index of the last write to a table; blocking
// queries compare against it.
type IndexEntry struct {
	Key   string
	Value uint64
}

func indexTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableIndex,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {
				Name:    "id",
				Unique:  true,
				Indexer: &memdb.StringFieldIndex{Field: "Key"},
			},
		},
	}
}

// Nodes are found by ID, by secret (the agent token a host pushes metrics
// with) and by name (an agent token is minted for a name). Names are not
// unique: two client agents may share a hostname. Both may be missing in
// nodes of old logs, which the FSM never validated.
func nodeTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableNodes,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {
				Name:    "id",
				Unique:  true,
				Indexer: &memdb.StringFieldIndex{Field: "ID"},
			},
			"secret": {
				Name:         "secret",
				Unique:       true,
				AllowMissing: true,
				Indexer:      &memdb.StringFieldIndex{Field: "SecretID"},
			},
			"name": {
				Name:         "name",
				AllowMissing: true,
				Indexer:      &memdb.StringFieldIndex{Field: "Name"},
			},
		},
	}
}

func pipelineTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tablePipelines,
		Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"name": {Name: "name", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		},
	}
}

// Revisions are keyed by their sequence number, so that the id index
// iterates them in the order they were made.
func pipelineRevisionTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tablePipelineRevisions,
		Indexes: map[string]*memdb.IndexSchema{
			"id":       {Name: "id", Unique: true, Indexer: seqIndexer{}},
			"pipeline": {Name: "pipeline", Indexer: &memdb.StringFieldIndex{Field: "PipelineID"}},
		},
	}
}

func configTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableConfigs,
		Indexes: map[string]*memdb.IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
			"job": {Name: "job", AllowMissing: true, Indexer: &memdb.StringSliceFieldIndex{Field: "JobNames"}},
		},
	}
}

func configRevisionTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableConfigRevisions,
		Indexes: map[string]*memdb.IndexSchema{
			"id":   {Name: "id", Unique: true, Indexer: seqIndexer{}},
			"name": {Name: "name", Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		},
	}
}

func counterTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableCounters,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		},
	}
}

func collectorTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableCollectors,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		},
	}
}

func aclPolicyTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableACLPolicies,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Name"}},
		},
	}
}

func aclTokenTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableACLTokens,
		Indexes: map[string]*memdb.IndexSchema{
			"id":     {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "AccessorID"}},
			"secret": {Name: "secret", Unique: true, Indexer: secretIndexer{}},
		},
	}
}

// secretIndexer indexes tokens by the SHA-256 of their secret, so that
// looking a secret up walks the tree by hash: the time a lookup takes says
// nothing about how much of a real secret a guess shares. The caller then
// compares the secret itself in constant time.
type secretIndexer struct{}

func (secretIndexer) FromObject(obj any) (bool, []byte, error) {
	t, ok := obj.(*structs.ACLToken)
	if !ok {
		return false, nil, fmt.Errorf("secret index: %T is not a token", obj)
	}
	sum := sha256.Sum256([]byte(t.SecretID))
	return true, sum[:], nil
}

func (secretIndexer) FromArgs(args ...any) ([]byte, error) {
	secret, err := indexArg[string]("secret", args)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	return sum[:], nil
}

// indexArg is the one argument of a lookup on a custom index, which must
// be a T.
func indexArg[T any](index string, args []any) (T, error) {
	var v T
	if len(args) != 1 {
		return v, fmt.Errorf("%s index: want one argument, got %d", index, len(args))
	}
	v, ok := args[0].(T)
	if !ok {
		return v, fmt.Errorf("%s index: argument %T is not a %T", index, args[0], v)
	}
	return v, nil
}

// seqIndexer indexes a revision by its sequence number as 16 hex digits.
// memdb's UintFieldIndex writes 8 big-endian bytes: in numeric order too,
// but the radix nodes near its leaves are up to 256 wide, and an insert in
// its own transaction copies them: 12 KB per insert at 40,000 revisions,
// of a single-entry apply's 31 KB. Fixed-width hex keeps every node at
// most 16 wide (4.7 KB, and 9 us instead of 13 us per insert).
type seqIndexer struct{}

// seqKey is the index key of sequence number seq.
func seqKey(seq uint64) []byte {
	const digits = "0123456789abcdef"
	key := make([]byte, 16)
	for i := len(key) - 1; i >= 0; i-- {
		key[i] = digits[seq&0xf]
		seq >>= 4
	}
	return key
}

func (seqIndexer) FromObject(obj any) (bool, []byte, error) {
	switch r := obj.(type) {
	case *structs.PipelineRevision:
		return true, seqKey(r.Seq), nil
	case *structs.ConfigRevision:
		return true, seqKey(r.Seq), nil
	default:
		return false, nil, fmt.Errorf("sequence index: %T is not a revision", obj)
	}
}

func (seqIndexer) FromArgs(args ...any) ([]byte, error) {
	seq, err := indexArg[uint64]("sequence", args)
	if err != nil {
		return nil, err
	}
	return seqKey(seq), nil
}
