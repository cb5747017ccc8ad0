package command

import (
	"io"

	"github.com/nomadlike/nomadlike/api"
)

// PipelineCreateCommand creates a pipeline.
type PipelineCreateCommand struct {
	Meta

	// stdin is read for -file=-; nil means os.Stdin.
	stdin io.Reader
}

// Name returns the words that invoke the command.
func (c *PipelineCreateCommand) Name() string { return "pipeline create" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineCreateCommand) Synopsis() string { return "Create a configuration pipeline" }

// Help returns the command's usage text.
func (c *PipelineCreateCommand) Help() string {
	return `Usage: nomadlike pipeline create [options] -name=<name> -file=<path>

  Creates a pipeline and prints it with the ID the server gave it. A
  pipeline of the same name must not exist; see "pipeline upsert".

` + generalOptionsUsage() + `

Create Options:

` + pipelineFlagsUsage + `

  -validate-only
    Only check the pipeline and print what would be created.`
}

// Run runs the command.
func (c *PipelineCreateCommand) Run(args []string) int {
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
	created, _, err := client.Pipelines().Create(p, validateOnly, nil)
	if err != nil {
		return c.errorf("creating pipeline", err)
	}
	return outputWrittenPipeline(&c.Meta, created, validateOnly)
}

// outputWrittenPipeline prints the pipeline a write returned, without its
// contents, which the user just gave.
func outputWrittenPipeline(m *Meta, p *api.Pipeline, validateOnly bool) int {
	if m.json {
		return m.outputJSON(p)
	}
	out := formatKV(pipelineKV(p))
	if validateOnly {
		out = "Validation succeeded; nothing was written (-validate-only)\n\n" + out
	}
	m.Ui.Output(out)
	return 0
}
