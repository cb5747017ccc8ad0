package nomadlike

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// TestOpenRaftStore_DataDirKeepsItsBackend: the configured backend picks
// the store of a new data dir only; a data dir keeps the backend it was
// created with (with a warning naming both when another was configured),
// and a dir holding both is an error rather than a guess.
func TestOpenRaftStore_DataDirKeepsItsBackend(t *testing.T) {
	var logs bytes.Buffer
	logger := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})
	open := func(dir, want string) string {
		t.Helper()
		store, backend, err := openRaftStore(dir, want, logger)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.SetUint64([]byte("CurrentTerm"), 7); err != nil {
			t.Fatal(err)
		}
		store.Close()
		return backend
	}
	for _, created := range []string{LogStoreBoltDB, LogStoreWAL} {
		other := map[string]string{LogStoreBoltDB: LogStoreWAL, LogStoreWAL: LogStoreBoltDB}[created]
		dir := t.TempDir()
		if got := open(dir, created); got != created {
			t.Fatalf("new dir with %s opened %s", created, got)
		}
		logs.Reset()
		if got := open(dir, other); got != created {
			t.Fatalf("dir created with %s reopened as %s", created, got)
		}
		if !strings.Contains(logs.String(), "configured="+other) || !strings.Contains(logs.String(), "in_use="+created) {
			t.Fatalf("no warning for the mismatch: %q", logs.String())
		}
		store, _, err := openRaftStore(dir, created, logger)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := store.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
			t.Fatalf("stable store value %d, %v", v, err)
		}
		store.Close()
	}

	// Unset is automatic: raft-wal for a new dir, and a dir's own backend,
	// without a warning, for an existing one (a server upgraded from a
	// build whose default was BoltDB).
	auto := t.TempDir()
	if got := open(auto, ""); got != LogStoreWAL {
		t.Fatalf("new dir with no backend configured opened %s", got)
	}
	bolt := t.TempDir()
	open(bolt, LogStoreBoltDB)
	logs.Reset()
	if got := open(bolt, ""); got != LogStoreBoltDB || logs.Len() != 0 {
		t.Fatalf("BoltDB dir with no backend configured opened %s, logged %q", got, logs.String())
	}

	dir := t.TempDir()
	open(dir, LogStoreBoltDB)
	if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openRaftStore(dir, LogStoreBoltDB, logger); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("dir with both stores: %v", err)
	}
}
