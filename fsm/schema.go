package fsm

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableIndex = "index"
	tableNodes = "nodes"
)

// schemaFuncs lists one function per table; stateStoreSchema assembles
// them and panics on a duplicate table name.
var schemaFuncs = []func() *memdb.TableSchema{
	indexTableSchema,
	nodeTableSchema,
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

func nodeTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableNodes,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {
				Name:    "id",
				Unique:  true,
				Indexer: &memdb.StringFieldIndex{Field: "ID"},
			},
		},
	}
}
