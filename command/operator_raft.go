package command

import "github.com/hashicorp/cli"

// OperatorRaftCommand is the parent of the operator raft subcommands; it
// prints help.
type OperatorRaftCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorRaftCommand) Name() string { return "operator raft" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorRaftCommand) Synopsis() string { return "Provides access to the Raft subsystem" }

// Help returns the command's usage text.
func (c *OperatorRaftCommand) Help() string {
	return `Usage: nomadlike operator raft <subcommand> [options]

  Inspects and changes the Raft configuration of the servers.

  List the Raft peers:

      $ nomadlike operator raft list-peers

  Remove a dead peer:

      $ nomadlike operator raft remove-peer -peer-id=<id>

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *OperatorRaftCommand) Run(_ []string) int { return cli.RunResultHelp }
