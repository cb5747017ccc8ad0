package command

// PipelineListCommand lists the pipelines.
type PipelineListCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *PipelineListCommand) Name() string { return "pipeline list" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineListCommand) Synopsis() string { return "List configuration pipelines" }

// Help returns the command's usage text.
func (c *PipelineListCommand) Help() string {
	return `Usage: nomadlike pipeline list [options]

  Lists the pipelines by ID, name, enabled flag, config type and matchers.
  -json prints them whole, contents included.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *PipelineListCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
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
	pipelines, _, err := client.Pipelines().List(nil)
	if err != nil {
		return c.errorf("listing pipelines", err)
	}
	if c.json {
		return c.outputJSON(pipelines)
	}
	if len(pipelines) == 0 {
		c.Ui.Output("No pipelines found")
		return 0
	}
	rows := make([][]string, 0, len(pipelines))
	for _, p := range pipelines {
		rows = append(rows, []string{p.ID, p.Name, formatEnabled(p.Enabled), formatConfigType(p.ConfigType), formatMatchers(p.Matchers)})
	}
	c.Ui.Output(formatTable([]string{"ID", "Name", "Enabled", "Config Type", "Matchers"}, rows))
	return 0
}
