package command

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nomadlike/nomadlike/nomadlike/snapshot"
)

// OperatorSnapshotSaveCommand saves a snapshot of the cluster state.
type OperatorSnapshotSaveCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorSnapshotSaveCommand) Name() string { return "operator snapshot save" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorSnapshotSaveCommand) Synopsis() string {
	return "Saves a snapshot of the cluster state to a file"
}

// Help returns the command's usage text.
func (c *OperatorSnapshotSaveCommand) Help() string {
	return `Usage: nomadlike operator snapshot save [options] <file>

  Has the leader take a consistent snapshot of the whole replicated state
  and writes it to <file>, a gzipped tar of meta.json, state.bin and
  SHA256SUMS. The file is checked against its checksums before it replaces
  <file>, so an interrupted save never leaves a damaged backup behind.
  Needs a management token.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *OperatorSnapshotSaveCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 {
		return c.usageError(c.Help(), "This command takes one argument: <file>")
	}
	path := fs.Arg(0)

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	body, err := client.Operator().Snapshot(nil)
	if err != nil {
		return c.errorf("saving snapshot", err)
	}
	defer body.Close()

	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return c.errorf("creating snapshot file", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if _, err := io.Copy(tmp, body); err != nil {
		return c.errorf("writing snapshot", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return c.errorf("verifying snapshot", err)
	}
	meta, err := snapshot.Verify(tmp)
	if err != nil {
		return c.errorf("verifying snapshot", err)
	}
	if err := tmp.Sync(); err != nil {
		return c.errorf("writing snapshot", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return c.errorf("writing snapshot", err)
	}
	if c.json {
		return c.outputJSON(map[string]any{"File": path, "Index": meta.Index, "Term": meta.Term, "Size": meta.Size})
	}
	c.Ui.Output(fmt.Sprintf("State file written to %s (index %d, term %d)", path, meta.Index, meta.Term))
	return 0
}
