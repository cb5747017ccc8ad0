package command

import (
	"fmt"
	"os"
)

// OperatorSnapshotRestoreCommand restores a snapshot into the cluster.
type OperatorSnapshotRestoreCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorSnapshotRestoreCommand) Name() string { return "operator snapshot restore" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorSnapshotRestoreCommand) Synopsis() string {
	return "Restores the cluster state from a snapshot file"
}

// Help returns the command's usage text.
func (c *OperatorSnapshotRestoreCommand) Help() string {
	return `Usage: nomadlike operator snapshot restore [options] <file>

  Replaces the whole replicated state of the cluster with the snapshot in
  <file>, made by "nomadlike operator snapshot save". The leader checks
  the file's checksums and decodes its state before it changes anything;
  a truncated or altered file is refused. The restore is replicated to
  every server. Writes made since the snapshot are lost. Needs a
  management token (of the cluster as it is before the restore).

` + generalOptionsUsage()
}

// Run runs the command.
func (c *OperatorSnapshotRestoreCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 {
		return c.usageError(c.Help(), "This command takes one argument: <file>")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return c.errorf("opening snapshot", err)
	}
	defer f.Close()

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	wm, err := client.Operator().SnapshotRestore(nil, f)
	if err != nil {
		return c.errorf("restoring snapshot", err)
	}
	c.Ui.Output(fmt.Sprintf("Snapshot restored (index %d)", wm.LastIndex))
	return 0
}
