package command

// PipelineGetCommand shows one pipeline with its contents.
type PipelineGetCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *PipelineGetCommand) Name() string { return "pipeline get" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineGetCommand) Synopsis() string { return "Show a configuration pipeline" }

// Help returns the command's usage text.
func (c *PipelineGetCommand) Help() string {
	return `Usage: nomadlike pipeline get [options] <id>

  Shows the pipeline with ID <id>: its fields, then its contents.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *PipelineGetCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <id>")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	p, _, err := client.Pipelines().Get(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("fetching pipeline", err)
	}
	if c.json {
		return c.outputJSON(p)
	}
	c.Ui.Output(formatPipeline(p))
	return 0
}
