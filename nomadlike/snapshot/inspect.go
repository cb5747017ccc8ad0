package snapshot

import (
	"errors"
	"io"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/fsm"
)

// Info describes an archive: its raft metadata and how many records of
// each type its state holds.
type Info struct {
	Meta   *raft.SnapshotMeta
	Counts map[string]int
}

// errStopped tells Read that the state's reader gave up.
var errStopped = errors.New("state reader stopped")

// Inspect reads an archive whole, verifying it as Read does, and decodes
// its state as a restore would (so an archive it accepts is one a cluster
// can restore), counting the records. It needs no server.
func Inspect(r io.Reader) (*Info, error) {
	pr, pw := io.Pipe()
	type result struct {
		counts map[string]int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		counts, err := fsm.CheckSnapshot(pr)
		pr.CloseWithError(errStopped)
		done <- result{counts, err}
	}()
	meta, err := Read(r, pw, 0)
	pw.CloseWithError(err)
	res := <-done
	if res.err != nil && (err == nil || errors.Is(err, errStopped)) {
		return nil, corrupt("%s: %v", stateFile, res.err)
	}
	if err != nil {
		return nil, err
	}
	return &Info{Meta: meta, Counts: res.counts}, nil
}
