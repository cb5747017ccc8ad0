package command

import "fmt"

// OperatorRaftRemoveCommand removes a peer from the Raft configuration.
type OperatorRaftRemoveCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorRaftRemoveCommand) Name() string { return "operator raft remove-peer" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorRaftRemoveCommand) Synopsis() string {
	return "Remove a server from the Raft configuration"
}

// Help returns the command's usage text.
func (c *OperatorRaftRemoveCommand) Help() string {
	return `Usage: nomadlike operator raft remove-peer [options] -peer-id=<id>

  Removes the server with Raft ID <id> from the Raft configuration. Use it
  for a server that is gone for good and that the cluster did not remove
  by itself; removing a live server can cost the cluster its quorum.
  "nomadlike operator raft list-peers" shows the IDs.

` + generalOptionsUsage() + `

Remove Peer Options:

  -peer-id=<id>
    The Raft ID of the server to remove. Required.`
}

// Run runs the command.
func (c *OperatorRaftRemoveCommand) Run(args []string) int {
	var peerID string
	fs := c.FlagSet(c.Name())
	fs.StringVar(&peerID, "peer-id", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments; give the peer with -peer-id")
	}
	if peerID == "" {
		return c.usageError(c.Help(), "Missing peer id: -peer-id is required")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if err := client.Operator().RaftRemovePeerByID(peerID, nil); err != nil {
		return c.errorf("removing peer", err)
	}
	c.Ui.Output(fmt.Sprintf("Removed peer with id %q", peerID))
	return 0
}
