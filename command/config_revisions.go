package command

// ConfigRevisionsCommand lists the history of an agent instance config.
type ConfigRevisionsCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ConfigRevisionsCommand) Name() string { return "config revisions" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigRevisionsCommand) Synopsis() string {
	return "List the revisions of an agent instance config"
}

// Help returns the command's usage text.
func (c *ConfigRevisionsCommand) Help() string {
	return `Usage: nomadlike config revisions [options] <name>

  Lists the revisions of the agent instance config <name>: one per
  create, update or delete, with when it happened. -json prints them with
  the config's contents at each revision.

` + generalOptionsUsage() + configKindUsage
}

// Run runs the command.
func (c *ConfigRevisionsCommand) Run(args []string) int {
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
	revs, _, err := kind.configs(client).Revisions(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("listing config revisions", err)
	}
	if c.json {
		return c.outputJSON(revs)
	}
	if len(revs) == 0 {
		c.Ui.Output("No revisions found")
		return 0
	}
	rows := make([][]string, 0, len(revs))
	for _, r := range revs {
		rows = append(rows, []string{r.RevisionID, r.Operation, formatTime(&r.CreatedAt)})
	}
	c.Ui.Output(formatTable([]string{"Revision ID", "Operation", "Created At"}, rows))
	return 0
}
