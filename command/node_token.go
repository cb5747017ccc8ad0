package command

import "github.com/hashicorp/cli"

// NodeTokenCommand is the parent of the node token subcommands; it prints
// help.
type NodeTokenCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *NodeTokenCommand) Name() string { return "node token" }

// Synopsis returns the one-line summary of the command.
func (c *NodeTokenCommand) Synopsis() string { return "Interact with agent tokens of external nodes" }

// Help returns the command's usage text.
func (c *NodeTokenCommand) Help() string {
	return `Usage: nomadlike node token <subcommand> [options] [args]

  This command groups subcommands for agent tokens bound to a node name.
  A host that runs some other agent than nomadlike pushes host metrics to
  /api/metrics/ingest with such a token, and appears as an external node
  of that name: it never heartbeats and stays "ready".

  Create (or rotate) the token of the node web-1:

      $ nomadlike node token create -name web-1

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *NodeTokenCommand) Run(_ []string) int { return cli.RunResultHelp }
