package command

import "io"

// PipelineUpdateCommand changes a pipeline.
type PipelineUpdateCommand struct {
	Meta

	// stdin is read for -file=-; nil means os.Stdin.
	stdin io.Reader
}

// Name returns the words that invoke the command.
func (c *PipelineUpdateCommand) Name() string { return "pipeline update" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineUpdateCommand) Synopsis() string { return "Update a configuration pipeline" }

// Help returns the command's usage text.
func (c *PipelineUpdateCommand) Help() string {
	return `Usage: nomadlike pipeline update [options] <id>

  Changes the pipeline with ID <id> and prints it. Only the fields given by
  flags change; the others keep their stored values. -matcher replaces all
  the matchers; -matcher='' alone removes them.

` + generalOptionsUsage() + `

Update Options:

` + pipelineFlagsUsage + `

  -validate-only
    Only check the change and print what the pipeline would become.`
}

// Run runs the command.
func (c *PipelineUpdateCommand) Run(args []string) int {
	var (
		pf           pipelineFlags
		validateOnly bool
	)
	fs := c.FlagSet(c.Name())
	pf.register(fs)
	fs.BoolVar(&validateOnly, "validate-only", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <id>")
	}
	if msg := pf.parsed(fs); msg != "" {
		return c.usageError(c.Help(), msg)
	}
	if !pf.set["name"] && !pf.set["file"] && !pf.set["matcher"] && !pf.set["enabled"] && !pf.set["config-type"] {
		return c.usageError(c.Help(), "Nothing to update: give -name, -file, -matcher, -enabled or -config-type")
	}
	id := fs.Arg(0)

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	p, _, err := client.Pipelines().Get(id, nil)
	if err != nil {
		return c.errorf("fetching pipeline", err)
	}
	if err := pf.apply(p, c.stdin); err != nil {
		return c.errorf("reading pipeline contents", err)
	}
	// The server keeps the timestamps; sending them back would only
	// suggest values.
	p.ID, p.CreatedAt, p.UpdatedAt = id, nil, nil

	updated, _, err := client.Pipelines().Update(p, validateOnly, nil)
	if err != nil {
		return c.errorf("updating pipeline", err)
	}
	return outputWrittenPipeline(&c.Meta, updated, validateOnly)
}
