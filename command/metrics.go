package command

import "github.com/hashicorp/cli"

// MetricsCommand is the parent of the host metrics subcommands; it prints
// help.
type MetricsCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *MetricsCommand) Name() string { return "metrics" }

// Synopsis returns the one-line summary of the command.
func (c *MetricsCommand) Synopsis() string { return "Query the fleet's host metrics" }

// Help returns the command's usage text.
func (c *MetricsCommand) Help() string {
	return `Usage: nomadlike metrics <subcommand> [options] [args]

  Queries the host metrics that client agents push to the servers. Any
  server answers for the whole fleet with PromQL, through the same
  Prometheus HTTP API (/api/v1/query) that Grafana and promtool use.

  Run a query:

      $ nomadlike metrics query 'max by (node) (cpu_percent)'

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *MetricsCommand) Run(_ []string) int { return cli.RunResultHelp }
