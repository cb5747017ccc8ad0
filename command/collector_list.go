package command

import (
	"fmt"
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// CollectorListCommand lists registered collectors.
type CollectorListCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *CollectorListCommand) Name() string { return "collector list" }

// Synopsis returns the one-line summary of the command.
func (c *CollectorListCommand) Synopsis() string { return "List registered collectors" }

// Help returns the command's usage text.
func (c *CollectorListCommand) Help() string {
	return `Usage: nomadlike collector list [options]

  Lists the collectors registered through collector.v1.CollectorService,
  with their attributes. Needs a token with node:read.

` + generalOptionsUsage() + `

Collector List Options:

  -prefix=<id-prefix>
    Only list the collectors whose ID starts with the prefix.`
}

// Run runs the command.
func (c *CollectorListCommand) Run(args []string) int {
	var prefix string
	fs := c.FlagSet(c.Name())
	fs.StringVar(&prefix, "prefix", "", "")
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
	collectors, _, err := client.Collectors().List(&api.QueryOptions{Prefix: prefix})
	if err != nil {
		return c.errorf("listing collectors", err)
	}
	if c.json {
		return c.outputJSON(collectors)
	}
	if len(collectors) == 0 {
		c.Ui.Output("No collectors registered")
		return 0
	}
	rows := make([][]string, 0, len(collectors))
	for _, col := range collectors {
		rows = append(rows, []string{col.ID, col.Name, formatAttributes(col.Attributes), formatTime(&col.UpdatedAt)})
	}
	c.Ui.Output(formatTable([]string{"ID", "Name", "Attributes", "Updated"}, rows))
	return 0
}

// formatAttributes renders attributes as k=v pairs sorted by key.
func formatAttributes(attrs map[string]string) string {
	pairs := make([]string, 0, len(attrs))
	for _, k := range sortedKeys(attrs) {
		pairs = append(pairs, fmt.Sprintf("%s=%s", k, attrs[k]))
	}
	if len(pairs) == 0 {
		return "<none>"
	}
	return strings.Join(pairs, ",")
}
