package command

// PipelineRevisionCommand shows one pipeline revision.
type PipelineRevisionCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *PipelineRevisionCommand) Name() string { return "pipeline revision" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineRevisionCommand) Synopsis() string { return "Show a pipeline revision" }

// Help returns the command's usage text.
func (c *PipelineRevisionCommand) Help() string {
	return `Usage: nomadlike pipeline revision [options] <revision_id>

  Shows the pipeline revision <revision_id>: the operation and its time,
  then the pipeline as it stood at that revision, contents last.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *PipelineRevisionCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <revision_id>")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	rev, _, err := client.Pipelines().GetRevision(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("fetching pipeline revision", err)
	}
	if c.json {
		return c.outputJSON(rev)
	}
	out := formatKV([][2]string{
		{"Revision ID", rev.RevisionID},
		{"Operation", rev.Operation},
		{"Created At", formatTime(&rev.CreatedAt)},
	})
	if rev.Snapshot != nil {
		out += "\n\nSnapshot\n\n" + formatPipeline(rev.Snapshot)
	}
	c.Ui.Output(out)
	return 0
}
