package command

import (
	"strings"
)

// CollectorStatusCommand shows one registered collector.
type CollectorStatusCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *CollectorStatusCommand) Name() string { return "collector status" }

// Synopsis returns the one-line summary of the command.
func (c *CollectorStatusCommand) Synopsis() string {
	return "Display a collector's attributes and the pipelines it gets"
}

// Help returns the command's usage text.
func (c *CollectorStatusCommand) Help() string {
	return `Usage: nomadlike collector status [options] <collector-id>

  Shows a registered collector: its name, attributes, when it registered,
  and which pipelines its configuration is merged from (every enabled
  pipeline whose matchers all match its attributes), with the hash that
  GetConfig answers. Needs a token with node:read and pipeline:read.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *CollectorStatusCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <collector-id>")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	st, _, err := client.Collectors().Info(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("querying collector", err)
	}
	if c.json {
		return c.outputJSON(st)
	}
	var b strings.Builder
	b.WriteString(formatKV([][2]string{
		{"ID", st.ID},
		{"Name", st.Name},
		{"Registered", formatTime(&st.CreatedAt)},
		{"Updated", formatTime(&st.UpdatedAt)},
		{"Config Hash", st.ConfigHash},
	}))
	pairs := make([][2]string, 0, len(st.Attributes))
	for _, k := range sortedKeys(st.Attributes) {
		pairs = append(pairs, [2]string{k, st.Attributes[k]})
	}
	if len(pairs) > 0 {
		b.WriteString("\n\nAttributes\n" + formatKV(pairs))
	}
	b.WriteString("\n\nPipelines\n")
	if len(st.Pipelines) == 0 {
		b.WriteString("<none>")
	} else {
		b.WriteString(strings.Join(st.Pipelines, "\n"))
	}
	c.Ui.Output(b.String())
	return 0
}
