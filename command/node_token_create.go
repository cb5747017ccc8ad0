package command

import "fmt"

// NodeTokenCreateCommand mints an agent token bound to a node name.
type NodeTokenCreateCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *NodeTokenCreateCommand) Name() string { return "node token create" }

// Synopsis returns the one-line summary of the command.
func (c *NodeTokenCreateCommand) Synopsis() string {
	return "Create an agent token for an external node"
}

// Help returns the command's usage text.
func (c *NodeTokenCreateCommand) Help() string {
	return `Usage: nomadlike node token create -name <node-name> [options]

  Creates an agent token bound to a node name and prints it, secret
  included; the secret is not shown again. With no node of that name, an
  external node is registered; for an external node of that name, the
  token is replaced (the old one stops working) and the node keeps its ID.
  The name of a node registered by a nomadlike client is refused: that
  agent pushes with its own node secret. Requires node:write.

` + generalOptionsUsage() + `

Create Options:

  -name=<name>
    The node's name (required).

  -datacenter=<dc>
    The node's datacenter. By default, the datacenter of the server that
    takes the request.`
}

// Run runs the command.
func (c *NodeTokenCreateCommand) Run(args []string) int {
	var name, datacenter string
	fs := c.FlagSet(c.Name())
	fs.StringVar(&name, "name", "", "")
	fs.StringVar(&datacenter, "datacenter", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if name == "" {
		return c.usageError(c.Help(), "Missing -name: the node's name")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	tok, _, err := client.Nodes().CreateTokenIn(name, datacenter, nil)
	if err != nil {
		return c.errorf("creating node token", err)
	}
	if c.json {
		return c.outputJSON(tok)
	}
	c.Ui.Output(formatKV([][2]string{
		{"Node ID", tok.NodeID},
		{"Name", tok.Name},
		{"Secret ID", tok.SecretID},
	}))
	c.Ui.Output(fmt.Sprintf("\nPush host metrics with:\n  curl -H \"Authorization: Bearer %s\" -d @payload.json $NOMADLIKE_ADDR/api/metrics/ingest", tok.SecretID))
	return 0
}
