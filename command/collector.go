package command

import "github.com/hashicorp/cli"

// CollectorCommand is the parent of the collector subcommands; it prints
// help.
type CollectorCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *CollectorCommand) Name() string { return "collector" }

// Synopsis returns the one-line summary of the command.
func (c *CollectorCommand) Synopsis() string { return "Interact with registered collectors" }

// Help returns the command's usage text.
func (c *CollectorCommand) Help() string {
	return `Usage: nomadlike collector <subcommand> [options] [args]

  This command groups subcommands for the collectors that are not nomadlike
  agents, such as Grafana Alloy with a remotecfg block, and registered
  themselves through collector.v1.CollectorService.

  List the collectors:

      $ nomadlike collector list

  Show one collector, its attributes and the pipelines it gets:

      $ nomadlike collector status <collector-id>

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *CollectorCommand) Run(_ []string) int { return cli.RunResultHelp }
