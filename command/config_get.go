package command

import "strings"

// ConfigGetCommand prints one agent instance config.
type ConfigGetCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ConfigGetCommand) Name() string { return "config get" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigGetCommand) Synopsis() string { return "Print an agent instance config" }

// Help returns the command's usage text.
func (c *ConfigGetCommand) Help() string {
	return `Usage: nomadlike config get [options] <name>

  Prints the YAML of the agent instance config <name> as the server
  returns it. With -json, prints {"name": ..., "value": <the YAML>}.

` + generalOptionsUsage() + configKindUsage
}

// Run runs the command.
func (c *ConfigGetCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	var kind configKind
	kind.register(fs)
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <name>")
	}
	name := fs.Arg(0)

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	value, _, err := kind.configs(client).Get(name, nil)
	if err != nil {
		return c.errorf("fetching config", err)
	}
	if c.json {
		return c.outputJSON(struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		}{name, value})
	}
	c.Ui.Output(strings.TrimRight(value, "\n"))
	return 0
}
