package command

import "github.com/nomadlike/nomadlike/api"

// PipelineRevisionsCommand lists pipeline revisions.
type PipelineRevisionsCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *PipelineRevisionsCommand) Name() string { return "pipeline revisions" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineRevisionsCommand) Synopsis() string { return "List pipeline revisions" }

// Help returns the command's usage text.
func (c *PipelineRevisionsCommand) Help() string {
	return `Usage: nomadlike pipeline revisions [options] [<id>]

  Lists the revisions of the pipeline with ID <id>, or of every pipeline
  when no ID is given: one per create, update or delete, with when it
  happened. "pipeline revision <revision_id>" shows one with its contents.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *PipelineRevisionsCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() > 1 || (fs.NArg() == 1 && fs.Arg(0) == "") {
		return c.usageError(c.Help(), "This command takes at most one argument: <id>")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	pipelines := client.Pipelines()
	var revs []*api.PipelineRevision
	if fs.NArg() == 1 {
		revs, _, err = pipelines.ListRevisions(fs.Arg(0), nil)
	} else {
		revs, _, err = pipelines.ListAllRevisions(nil)
	}
	if err != nil {
		return c.errorf("listing pipeline revisions", err)
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
		id, name := "", ""
		if r.Snapshot != nil {
			id, name = r.Snapshot.ID, r.Snapshot.Name
		}
		rows = append(rows, []string{r.RevisionID, id, name, r.Operation, formatTime(&r.CreatedAt)})
	}
	c.Ui.Output(formatTable([]string{"Revision ID", "Pipeline ID", "Name", "Operation", "Created At"}, rows))
	return 0
}
