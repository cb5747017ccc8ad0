package command

import (
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// OperatorMetricsCommand prints an agent's own metrics, as Nomad's
// `nomad operator metrics`.
type OperatorMetricsCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorMetricsCommand) Name() string { return "operator metrics" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorMetricsCommand) Synopsis() string {
	return "Display an agent's own metrics"
}

// Help returns the command's usage text.
func (c *OperatorMetricsCommand) Help() string {
	return `Usage: nomadlike operator metrics [options]

  Prints the metrics of the agent at -address (GET /v1/metrics): by default
  its in-memory summary of the last 10 s interval as JSON, with
  -format=prometheus everything its Prometheus endpoint serves (raft,
  gossip, HTTP, RPC, Go runtime and process series). Needs no token.

` + generalOptionsUsage() + `

Metrics Options:

  -format=<format>
    "prometheus" prints the Prometheus text exposition format instead of
    the JSON summary.

  -pretty
    Indent the JSON summary (the default; kept for Nomad's flag).`
}

// Run runs the command.
func (c *OperatorMetricsCommand) Run(args []string) int {
	var format string
	var pretty bool
	fs := c.FlagSet(c.Name())
	fs.StringVar(&format, "format", "", "")
	fs.BoolVar(&pretty, "pretty", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	switch format {
	case "", "json", "prometheus":
	default:
		return c.usageError(c.Help(), `-format must be "prometheus" (or unset for JSON)`)
	}
	if format == "prometheus" && c.json {
		return c.usageError(c.Help(), "-json and -format=prometheus cannot be combined")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if format == "prometheus" {
		text, err := client.Agent().MetricsPrometheus(nil)
		if err != nil {
			return c.errorf("querying metrics", err)
		}
		c.Ui.Output(strings.TrimRight(string(text), "\n"))
		return 0
	}
	summary, err := client.Agent().Metrics(&api.QueryOptions{})
	if err != nil {
		return c.errorf("querying metrics", err)
	}
	return c.outputJSON(summary)
}
