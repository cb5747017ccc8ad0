package command

import (
	"fmt"
	"io"
)

// ConfigPutCommand creates or replaces an agent instance config from a
// file.
type ConfigPutCommand struct {
	Meta

	// stdin is read for the path "-"; nil means os.Stdin.
	stdin io.Reader
}

// Name returns the words that invoke the command.
func (c *ConfigPutCommand) Name() string { return "config put" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigPutCommand) Synopsis() string { return "Create or replace an agent instance config" }

// Help returns the command's usage text.
func (c *ConfigPutCommand) Help() string {
	return `Usage: nomadlike config put [options] <name> <path>

  Creates the agent instance config <name>, or replaces it whole, with the
  YAML metrics_instance_config read from the file <path>, or from stdin
  when <path> is "-". A "name:" inside the YAML is ignored; <name> wins.
  Prints whether the config was created or updated. With -json, prints
  {"name": ..., "created": true|false}.

` + generalOptionsUsage() + configKindUsage
}

// Run runs the command.
func (c *ConfigPutCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	var kind configKind
	kind.register(fs)
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 2 {
		return c.usageError(c.Help(), "This command takes two arguments: <name> and <path>")
	}
	name, path := fs.Arg(0), fs.Arg(1)
	if name == "" {
		return c.usageError(c.Help(), "The config name must not be empty")
	}
	contents, err := readFileOrStdin(path, c.stdin)
	if err != nil {
		return c.errorf("reading config", err)
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	created, _, err := kind.configs(client).Put(name, contents, nil)
	if err != nil {
		return c.errorf("writing config", err)
	}
	if c.json {
		return c.outputJSON(struct {
			Name    string `json:"name"`
			Created bool   `json:"created"`
		}{name, created})
	}
	if created {
		c.Ui.Output(fmt.Sprintf("Created config %q", name))
	} else {
		c.Ui.Output(fmt.Sprintf("Updated config %q", name))
	}
	return 0
}
