package command

import (
	"errors"
	"fmt"

	"github.com/nomadlike/nomadlike/api"
)

// ServerJoinCommand joins the agent's server to other servers' gossip pool.
type ServerJoinCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ServerJoinCommand) Name() string { return "server join" }

// Synopsis returns the one-line summary of the command.
func (c *ServerJoinCommand) Synopsis() string { return "Join server nodes together" }

// Help returns the command's usage text.
func (c *ServerJoinCommand) Help() string {
	return `Usage: nomadlike server join [options] <addr> [<addr>...]

  Joins the server of the local agent to one or more servers, given by
  their gossip address (ip:port, port 4648 by default). Joining any one
  member of a pool is enough to join the whole pool.

` + generalOptionsUsage()
}

// joinOutput is what -json prints, in the wire's snake_case.
type joinOutput struct {
	NumJoined int `json:"num_joined"`
}

// Run runs the command.
func (c *ServerJoinCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	addrs := fs.Args()
	if len(addrs) == 0 {
		return c.usageError(c.Help(), "One or more server addresses are required")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	n, err := client.Agent().Join(addrs...)
	var warning *api.JoinWarningError
	if errors.As(err, &warning) {
		c.Ui.Warn("Warning: " + warning.Warning)
	} else if err != nil {
		return c.errorf("joining", err)
	}

	if c.json {
		return c.outputJSON(joinOutput{NumJoined: n})
	}
	c.Ui.Output(fmt.Sprintf("Joined %d servers successfully", n))
	return 0
}
