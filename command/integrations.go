package command

import (
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// IntegrationsCommand lists the metrics integrations of the fleet (or of
// one agent), as Prometheus' http_sd discovers them.
type IntegrationsCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *IntegrationsCommand) Name() string { return "integrations" }

// Synopsis returns the one-line summary of the command.
func (c *IntegrationsCommand) Synopsis() string {
	return "List the metrics integrations (node_exporter, agent) nodes serve"
}

// Help returns the command's usage text.
func (c *IntegrationsCommand) Help() string {
	return `Usage: nomadlike integrations [options]

  Lists every ready node's metrics integrations (GET /v1/integrations/sd,
  the http_sd a Prometheus can point at), or with -local those of the agent
  at -address only (GET /agent/api/v1/metrics/integrations/sd). -json prints
  the http_sd target groups.

` + generalOptionsUsage() + `

Integrations Options:

  -local
    The agent at -address only.

  -integrations=<names>
    Comma list of integrations to keep: agent, node_exporter.

  -instance=<instance>
    Keep only integrations of this instance label.`
}

// Run runs the command.
func (c *IntegrationsCommand) Run(args []string) int {
	var local bool
	var names, instance string
	fs := c.FlagSet(c.Name())
	fs.BoolVar(&local, "local", false, "")
	fs.StringVar(&names, "integrations", "", "")
	fs.StringVar(&instance, "instance", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	opts := api.IntegrationsSDOptions{Instance: instance}
	if names != "" {
		opts.Integrations = strings.Split(names, ",")
	}
	sd := client.Agent().FleetSD
	if local {
		sd = client.Agent().IntegrationsSD
	}
	groups, err := sd(opts, nil)
	if err != nil {
		return c.errorf("listing integrations", err)
	}
	if c.json {
		return c.outputJSON(groups)
	}
	if len(groups) == 0 {
		c.Ui.Output("No integrations")
		return 0
	}
	rows := make([][]string, 0, len(groups))
	for _, g := range groups {
		l := g.Labels
		node := l["__meta_nomadlike_node_name"]
		if node == "" {
			node = l["agent_hostname"]
		}
		autoscrape := "false"
		if l["__meta_agent_integration_autoscrape"] == "1" {
			autoscrape = "true"
		}
		rows = append(rows, []string{node, l["__meta_agent_integration_name"], l["instance"],
			"http://" + strings.Join(g.Targets, ",") + l["__metrics_path__"], autoscrape})
	}
	c.Ui.Output(formatTable([]string{"Node", "Integration", "Instance", "URL", "Autoscrape"}, rows))
	return 0
}
