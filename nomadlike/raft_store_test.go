package nomadlike

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
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

// TestRaftStore_TailTruncationSurvivesRestart: raft deletes a log suffix
// ("clearing log suffix") after a leader change, then appends the new
// leader's entries. With raft-wal v0.4.0 the truncated segment was marked
// sealed without an index block, and the next open failed with "sealed
// segment has no index block" (raft-wal issue 31): every server that had
// ever truncated could not restart. Both backends must read back every
// entry, with the rewritten suffix's new terms, after a reopen.
func TestRaftStore_TailTruncationSurvivesRestart(t *testing.T) {
	logger := hclog.NewNullLogger()
	for _, backend := range []string{LogStoreWAL, LogStoreBoltDB} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			store, _, err := openRaftStore(dir, backend, logger)
			if err != nil {
				t.Fatal(err)
			}
			appendLogs := func(s raftStore, from, to, term uint64) {
				t.Helper()
				var logs []*raft.Log
				for i := from; i <= to; i++ {
					logs = append(logs, &raft.Log{Index: i, Term: term, Type: raft.LogCommand,
						Data: []byte(fmt.Sprintf("entry-%d-term-%d", i, term))})
				}
				if err := s.StoreLogs(logs); err != nil {
					t.Fatal(err)
				}
			}
			appendLogs(store, 1, 20, 1)
			// A new leader's log disagrees from index 15 on: raft
			// deletes the suffix and appends the leader's entries.
			if err := store.DeleteRange(15, 20); err != nil {
				t.Fatal(err)
			}
			appendLogs(store, 15, 30, 2)
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}

			// Restart twice: the second open reads what the first wrote
			// after reopening a truncated log.
			for restart := 1; restart <= 2; restart++ {
				store, _, err = openRaftStore(dir, backend, logger)
				if err != nil {
					t.Fatalf("restart %d: %v", restart, err)
				}
				first, _ := store.FirstIndex()
				last, _ := store.LastIndex()
				if first != 1 || last != uint64(29+restart) {
					t.Fatalf("restart %d: log spans %d..%d", restart, first, last)
				}
				for i := uint64(1); i <= last; i++ {
					var l raft.Log
					if err := store.GetLog(i, &l); err != nil {
						t.Fatalf("restart %d: entry %d: %v", restart, i, err)
					}
					term := uint64(1)
					if i >= 15 {
						term = 2
					}
					if want := fmt.Sprintf("entry-%d-term-%d", i, term); l.Term != term || string(l.Data) != want {
						t.Fatalf("restart %d: entry %d is term %d %q, want %q", restart, i, l.Term, l.Data, want)
					}
				}
				appendLogs(store, last+1, last+1, 2)
				if err := store.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
