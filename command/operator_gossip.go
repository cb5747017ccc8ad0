package command

import "github.com/hashicorp/cli"

// OperatorGossipCommand is the parent of the operator gossip subcommands;
// it prints help.
type OperatorGossipCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorGossipCommand) Name() string { return "operator gossip" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorGossipCommand) Synopsis() string { return "Provides access to the gossip subsystem" }

// Help returns the command's usage text.
func (c *OperatorGossipCommand) Help() string {
	return `Usage: nomadlike operator gossip <subcommand> [options]

  Provides tools for the servers' gossip pool (memberlist), such as making
  the key that encrypts it.

  Make a new encryption key for the agent's -encrypt option:

      $ nomadlike operator gossip keygen

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *OperatorGossipCommand) Run(_ []string) int { return cli.RunResultHelp }
