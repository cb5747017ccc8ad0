package nomadlike

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"go.etcd.io/bbolt"
)

// Raft log backends (server { raft_logstore { backend = ... } }), named as
// in Nomad and Consul. Unset, a new data dir gets LogStoreWAL and an
// existing one keeps what it has; see DESIGN.md.
const (
	LogStoreBoltDB = "boltdb"
	LogStoreWAL    = "wal"
)

// raftStore is a raft log and stable store in one, as both backends are.
type raftStore interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

// openRaftStore opens the raft store under dir. The backend a data dir was
// created with is kept whatever the configuration says now: opening the
// other one would start an empty log beside the real one, and the server
// would forget the cluster. An empty want is automatic: the backend the
// data dir has, raft-wal for a new one. A backend configured explicitly
// that the data dir does not have is logged with what to do.
func openRaftStore(dir, want string, logger hclog.Logger) (raftStore, string, error) {
	boltPath := filepath.Join(dir, "raft.db")
	walDir := filepath.Join(dir, "wal")
	hasBolt, hasWAL := exists(boltPath), exists(walDir)
	if hasBolt && hasWAL {
		return nil, "", fmt.Errorf("both %s and %s exist: remove the one that is not in use", boltPath, walDir)
	}
	backend := want
	switch {
	case hasBolt:
		backend = LogStoreBoltDB
	case hasWAL:
		backend = LogStoreWAL
	case want == "":
		backend = LogStoreWAL
	}
	if want != "" && backend != want {
		logger.Warn("raft_logstore.backend applies to new data dirs only; keeping this data dir's backend",
			"configured", want, "in_use", backend, "data_dir", dir)
	}

	switch backend {
	case LogStoreWAL:
		if err := os.MkdirAll(walDir, 0o700); err != nil {
			return nil, "", err
		}
		meta := &metadb.BoltMetaDB{}
		w, err := raftwal.Open(walDir, raftwal.WithMetaStore(meta))
		if err != nil {
			meta.Close()
			return nil, "", fmt.Errorf("opening raft WAL: %w", err)
		}
		// Since v0.4.1 the WAL's Close closes its meta store (and
		// releases the file lock) itself, so a server restarted
		// in-process can open the data dir again.
		return w, backend, nil
	case LogStoreBoltDB:
		// The freelist is rebuilt by scanning at open instead of being
		// written with every commit: the log is append-and-truncate,
		// its freelist grows after each snapshot, and writing it on
		// every append is what makes BoltDB's write latency climb
		// (Consul and Nomad offer the same switch). The map freelist
		// keeps that rebuild and its use cheap. The lock timeout makes
		// a second agent on the same data dir fail instead of hang.
		store, err := raftboltdb.New(raftboltdb.Options{Path: boltPath,
			BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}})
		if err != nil {
			return nil, "", fmt.Errorf("opening raft store: %w", err)
		}
		return store, LogStoreBoltDB, nil
	default:
		return nil, "", fmt.Errorf("unknown raft log store backend %q", backend)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
