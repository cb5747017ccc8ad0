package command

import "github.com/hashicorp/cli"

// OperatorCommand is the parent of the operator subcommands; it prints
// help.
type OperatorCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorCommand) Name() string { return "operator" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorCommand) Synopsis() string { return "Provides cluster-level tools for operators" }

// Help returns the command's usage text.
func (c *OperatorCommand) Help() string {
	return `Usage: nomadlike operator <subcommand> [options] [args]

  Provides cluster-level tools for nomadlike operators, such as looking at
  and changing the Raft configuration. These commands can change the
  cluster in ways that lose quorum or data; use them with care.

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *OperatorCommand) Run(_ []string) int { return cli.RunResultHelp }
