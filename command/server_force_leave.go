package command

import (
	"fmt"

	"github.com/nomadlike/nomadlike/api"
)

// ServerForceLeaveCommand forces a failed server out of the gossip pool.
type ServerForceLeaveCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ServerForceLeaveCommand) Name() string { return "server force-leave" }

// Synopsis returns the one-line summary of the command.
func (c *ServerForceLeaveCommand) Synopsis() string { return "Force a server into the 'left' state" }

// Help returns the command's usage text.
func (c *ServerForceLeaveCommand) Help() string {
	return `Usage: nomadlike server force-leave [options] <node>

  Moves the failed server <node> (its gossip name, such as s2.global) to
  the 'left' state, so that the cluster stops trying to reach it. It
  prints nothing on success.

` + generalOptionsUsage() + `

Force-Leave Options:

  -prune
    Also remove the server from the member list at once.`
}

// Run runs the command.
func (c *ServerForceLeaveCommand) Run(args []string) int {
	var prune bool
	fs := c.FlagSet(c.Name())
	fs.BoolVar(&prune, "prune", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <node>")
	}
	node := fs.Arg(0)

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	err = client.Agent().ForceLeaveWithOptions(node, api.ForceLeaveOpts{Prune: prune})
	if err != nil {
		return c.errorf(fmt.Sprintf("force-leaving server %s", node), err)
	}
	return 0
}
