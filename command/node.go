package command

import "github.com/hashicorp/cli"

// NodeCommand is the parent of the node subcommands; it prints help.
type NodeCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *NodeCommand) Name() string { return "node" }

// Synopsis returns the one-line summary of the command.
func (c *NodeCommand) Synopsis() string { return "Interact with client nodes" }

// Help returns the command's usage text.
func (c *NodeCommand) Help() string {
	return `Usage: nomadlike node <subcommand> [options] [args]

  This command groups subcommands for interacting with the client nodes
  registered with the servers.

  List the nodes:

      $ nomadlike node status

  Show one node:

      $ nomadlike node status <node-id>

  Create an agent token for a host that runs another agent:

      $ nomadlike node token create -name web-1

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *NodeCommand) Run(_ []string) int { return cli.RunResultHelp }
