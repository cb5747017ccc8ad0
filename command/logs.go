package command

import (
	"slices"
	"strconv"
)

// LogsCommand shows an agent's logs instances: each target's files and
// how far each was pushed.
type LogsCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *LogsCommand) Name() string { return "logs" }

// Synopsis returns the one-line summary of the command.
func (c *LogsCommand) Synopsis() string {
	return "Show the files an agent's logs instances tail, and their offsets"
}

// Help returns the command's usage text.
func (c *LogsCommand) Help() string {
	return `Usage: nomadlike logs [options]

  Shows the logs targets of the agent at -address (GET
  /agent/api/v1/logs/targets): per instance and job, each file its glob
  matches and the byte offset up to which its lines were pushed. An agent
  running no logs instance shows "No logs targets". -json prints the
  targets as the API answers them.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *LogsCommand) Run(args []string) int {
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
	targets, err := client.Agent().LogsTargets()
	if err != nil {
		return c.errorf("listing logs targets", err)
	}
	if c.json {
		return c.outputJSON(targets)
	}
	if len(targets) == 0 {
		c.Ui.Output("No logs targets")
		return 0
	}
	var rows [][]string
	for _, t := range targets {
		ready := strconv.FormatBool(t.Ready)
		if len(t.Details) == 0 {
			rows = append(rows, []string{t.Instance, t.TargetGroup, t.DiscoveredLabels["__path__"] + " (no file)", "-", ready})
		}
		files := make([]string, 0, len(t.Details))
		for f := range t.Details {
			files = append(files, f)
		}
		slices.Sort(files)
		for _, f := range files {
			rows = append(rows, []string{t.Instance, t.TargetGroup, f, strconv.FormatInt(t.Details[f], 10), ready})
		}
	}
	c.Ui.Output(formatTable([]string{"Instance", "Job", "File", "Offset", "Ready"}, rows))
	return 0
}
