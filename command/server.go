package command

import "github.com/hashicorp/cli"

// ServerCommand is the parent of the server subcommands; it prints help.
type ServerCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ServerCommand) Name() string { return "server" }

// Synopsis returns the one-line summary of the command.
func (c *ServerCommand) Synopsis() string { return "Interact with servers" }

// Help returns the command's usage text.
func (c *ServerCommand) Help() string {
	return `Usage: nomadlike server <subcommand> [options] [args]

  This command groups subcommands for interacting with nomadlike servers:
  listing the gossip pool, joining servers to it and forcing failed
  servers out of it.

  List the servers:

      $ nomadlike server members

  Join a server to the pool:

      $ nomadlike server join 10.0.0.2:4648

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *ServerCommand) Run(_ []string) int { return cli.RunResultHelp }
