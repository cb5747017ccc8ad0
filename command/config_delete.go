package command

import "fmt"

// ConfigDeleteCommand deletes an agent instance config.
type ConfigDeleteCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ConfigDeleteCommand) Name() string { return "config delete" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigDeleteCommand) Synopsis() string { return "Delete an agent instance config" }

// Help returns the command's usage text.
func (c *ConfigDeleteCommand) Help() string {
	return `Usage: nomadlike config delete [options] <name>

  Deletes the agent instance config <name>. Deleting a config that does
  not exist is an error.

` + generalOptionsUsage() + configKindUsage
}

// Run runs the command.
func (c *ConfigDeleteCommand) Run(args []string) int {
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
	if _, err := kind.configs(client).Delete(name, nil); err != nil {
		return c.errorf("deleting config", err)
	}
	c.Ui.Output(fmt.Sprintf("Deleted config %q", name))
	return 0
}
