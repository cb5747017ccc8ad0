package command

import "fmt"

// ConfigStatusCommand shows where an agent instance config runs.
type ConfigStatusCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ConfigStatusCommand) Name() string { return "config status" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigStatusCommand) Synopsis() string {
	return "Show which nodes run an agent instance config, and its targets' health"
}

// Help returns the command's usage text.
func (c *ConfigStatusCommand) Help() string {
	return `Usage: nomadlike config status [options] <name>

  Shows the client nodes the config scheduler assigned the agent instance
  config <name> to, and what each last reported of the metrics instance
  running it: its state and how many of its scrape targets are up, down
  or not scraped yet, with one scrape error.

` + generalOptionsUsage() + configKindUsage
}

// Run runs the command.
func (c *ConfigStatusCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	var kind configKind
	kind.register(fs)
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <name>")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	st, _, err := kind.configs(client).Status(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("reading config status", err)
	}
	if c.json {
		return c.outputJSON(st)
	}
	if len(st.Nodes) == 0 {
		c.Ui.Output(fmt.Sprintf("Config %q is not assigned to any node (no ready client node, or the config scheduler is disabled)", st.Name))
		return 0
	}
	rows := make([][]string, 0, len(st.Nodes))
	for _, n := range st.Nodes {
		row := []string{shortID(n.NodeID, false), n.NodeName, n.NodeStatus}
		if in := n.Instance; in != nil {
			r := instanceRow(in.Name, in.Source, in.State, in.Error, in.LastError, in.TargetsUp, in.TargetsDown, in.TargetsUnknown)
			row = append(row, r[2:]...)
		} else {
			row = append(row, "pending", "", "", "", "")
		}
		rows = append(rows, row)
	}
	c.Ui.Output(formatTable([]string{"Node ID", "Node Name", "Node Status", "State", "Targets Up", "Down", "Unknown", "Last Error"}, rows))
	return 0
}
