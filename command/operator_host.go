package command

// OperatorHostCommand prints the host data of an agent.
type OperatorHostCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorHostCommand) Name() string { return "operator host" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorHostCommand) Synopsis() string {
	return "Display what an agent sees of its host"
}

// Help returns the command's usage text.
func (c *OperatorHostCommand) Help() string {
	return `Usage: nomadlike operator host [options]

  Prints, as JSON, what the agent (or the server or client node named with
  -server-id or -node-id) sees of its host: operating system, network
  addresses, resolv.conf, hosts, environment (secrets redacted) and disks.
  Needs agent:read when ACLs are on; with ACLs off the agent that answers
  must run with enable_debug.

` + generalOptionsUsage() + `

Host Options:

  -server-id=<id>
    The server to ask: "leader", a server name or a server ID.

  -node-id=<id>
    The client node to ask.`
}

// Run runs the command.
func (c *OperatorHostCommand) Run(args []string) int {
	var target targetFlags
	fs := c.FlagSet(c.Name())
	target.register(fs)
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if msg := target.usageError(); msg != "" {
		return c.usageError(c.Help(), msg)
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	host, err := client.Agent().Host(target.serverID, target.nodeID, nil)
	if err != nil {
		return c.errorf("querying host data", err)
	}
	return c.outputJSON(host)
}
