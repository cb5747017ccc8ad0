package command

import (
	"io"

	"github.com/nomadlike/nomadlike/api"
)

// PipelineUpsertCommand creates a pipeline or replaces the one of the
// same name.
type PipelineUpsertCommand struct {
	Meta

	// stdin is read for -file=-; nil means os.Stdin.
	stdin io.Reader
}

// Name returns the words that invoke the command.
func (c *PipelineUpsertCommand) Name() string { return "pipeline upsert" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineUpsertCommand) Synopsis() string {
	return "Create or replace a configuration pipeline by name"
}

// Help returns the command's usage text.
func (c *PipelineUpsertCommand) Help() string {
	return `Usage: nomadlike pipeline upsert [options] -name=<name> -file=<path>

  Creates the pipeline <name>, or replaces it whole if it exists, and
  prints it. Fields not given by flags are cleared on a replace.

` + generalOptionsUsage() + `

Upsert Options:

` + pipelineFlagsUsage
}

// Run runs the command.
func (c *PipelineUpsertCommand) Run(args []string) int {
	var pf pipelineFlags
	fs := c.FlagSet(c.Name())
	pf.register(fs)
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if msg := pf.parsed(fs); msg != "" {
		return c.usageError(c.Help(), msg)
	}
	if !pf.set["name"] || !pf.set["file"] {
		return c.usageError(c.Help(), "A pipeline needs -name and -file")
	}
	p := &api.Pipeline{}
	if err := pf.apply(p, c.stdin); err != nil {
		return c.errorf("reading pipeline contents", err)
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	written, _, err := client.Pipelines().Upsert(p, nil)
	if err != nil {
		return c.errorf("upserting pipeline", err)
	}
	return outputWrittenPipeline(&c.Meta, written, false)
}
