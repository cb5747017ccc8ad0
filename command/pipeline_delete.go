package command

import (
	"fmt"
	"slices"
	"strings"
)

// PipelineDeleteCommand deletes one pipeline or several at once.
type PipelineDeleteCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *PipelineDeleteCommand) Name() string { return "pipeline delete" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineDeleteCommand) Synopsis() string { return "Delete configuration pipelines" }

// Help returns the command's usage text.
func (c *PipelineDeleteCommand) Help() string {
	return `Usage: nomadlike pipeline delete [options] <id> [<id>...]

  Deletes the pipeline with ID <id>. Given several IDs, deletes them all
  or, if one does not exist, none.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *PipelineDeleteCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	ids := fs.Args()
	if len(ids) == 0 || slices.Contains(ids, "") {
		return c.usageError(c.Help(), "This command takes one or more arguments: <id> [<id>...]")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if len(ids) == 1 {
		if _, err := client.Pipelines().Delete(ids[0], nil); err != nil {
			return c.errorf("deleting pipeline", err)
		}
		c.Ui.Output(fmt.Sprintf("Deleted pipeline %s", ids[0]))
		return 0
	}
	if _, err := client.Pipelines().BulkDelete(ids, nil); err != nil {
		return c.errorf("deleting pipelines", err)
	}
	c.Ui.Output(fmt.Sprintf("Deleted pipelines %s", strings.Join(ids, ", ")))
	return 0
}
