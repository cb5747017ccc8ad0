package command

import "strings"

// AgentReloadCommand asks a running agent to read its configuration files
// again (POST /-/reload), as SIGHUP does on its host.
type AgentReloadCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *AgentReloadCommand) Name() string { return "agent reload" }

// Synopsis returns the one-line summary of the command.
func (c *AgentReloadCommand) Synopsis() string {
	return "Make a running agent re-read its configuration files"
}

// Help returns the command's usage text.
func (c *AgentReloadCommand) Help() string {
	return `Usage: nomadlike agent reload [options]

  Makes the agent at -address read its configuration files and flags again
  and apply what changed: log_level, rate_limit, client meta, local metrics
  instances and host metrics checks. The node stays registered and nothing
  restarts that did not change. Settings that changed but need a restart
  (ports, addresses, data_dir, server or client role, ...) are listed. A
  file that does not parse or validate is refused and the agent keeps its
  running configuration. Sending SIGHUP to the agent does the same. Needs
  agent:write.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *AgentReloadCommand) Run(args []string) int {
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
	restart, err := client.Agent().Reload()
	if err != nil {
		return c.errorf("reloading the agent's configuration", err)
	}
	c.Ui.Output("Configuration reloaded")
	if len(restart) > 0 {
		c.Ui.Output("Changed but applied only at the agent's next restart: " + strings.Join(restart, ", "))
	}
	return 0
}
