package command

import "github.com/hashicorp/cli"

// OperatorSnapshotCommand is the parent of the operator snapshot
// subcommands; it prints help.
type OperatorSnapshotCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorSnapshotCommand) Name() string { return "operator snapshot" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorSnapshotCommand) Synopsis() string {
	return "Saves, restores and inspects snapshots of the cluster state"
}

// Help returns the command's usage text.
func (c *OperatorSnapshotCommand) Help() string {
	return `Usage: nomadlike operator snapshot <subcommand> [options]

  Saves a consistent snapshot of the servers' whole replicated state
  (pipelines and their revisions, configs, ACL policies and tokens, nodes)
  to a file, restores one into a running or a fresh cluster, and inspects
  a file without a server. Save and restore need a management token.

  Save a snapshot:

      $ nomadlike operator snapshot save backup.snap

  Inspect it:

      $ nomadlike operator snapshot inspect backup.snap

  Restore it:

      $ nomadlike operator snapshot restore backup.snap

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *OperatorSnapshotCommand) Run(_ []string) int { return cli.RunResultHelp }
