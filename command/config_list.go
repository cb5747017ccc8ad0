package command

// ConfigListCommand lists the names of the agent instance configs.
type ConfigListCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ConfigListCommand) Name() string { return "config list" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigListCommand) Synopsis() string { return "List agent instance configs" }

// Help returns the command's usage text.
func (c *ConfigListCommand) Help() string {
	return `Usage: nomadlike config list [options]

  Lists the names of the stored agent instance configs.

` + generalOptionsUsage() + configKindUsage
}

// Run runs the command.
func (c *ConfigListCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	var kind configKind
	kind.register(fs)
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
	names, _, err := kind.configs(client).List(nil)
	if err != nil {
		return c.errorf("listing configs", err)
	}
	if c.json {
		return c.outputJSON(names)
	}
	if len(names) == 0 {
		c.Ui.Output("No configs found")
		return 0
	}
	rows := make([][]string, 0, len(names))
	for _, n := range names {
		rows = append(rows, []string{n})
	}
	c.Ui.Output(formatTable([]string{"Name"}, rows))
	return 0
}
