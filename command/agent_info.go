package command

import (
	"sort"
)

// AgentInfoCommand prints the statistics of the agent.
type AgentInfoCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *AgentInfoCommand) Name() string { return "agent-info" }

// Synopsis returns the one-line summary of the command.
func (c *AgentInfoCommand) Synopsis() string {
	return "Display status information about the local agent"
}

// Help returns the command's usage text.
func (c *AgentInfoCommand) Help() string {
	return `Usage: nomadlike agent-info [options]

  Displays the statistics of the agent, section by section (nomad, raft,
  serf, runtime, client), for debugging. -json prints the whole
  /v1/agent/self answer, configuration included.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *AgentInfoCommand) Run(args []string) int {
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
	self, err := client.Agent().Self()
	if err != nil {
		return c.errorf("querying agent info", err)
	}
	if c.json {
		return c.outputJSON(self)
	}

	for _, section := range sortedKeys(self.Stats) {
		c.Ui.Output(section)
		stats := self.Stats[section]
		for _, key := range sortedKeys(stats) {
			c.Ui.Output("  " + key + " = " + stats[key])
		}
	}
	return 0
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
