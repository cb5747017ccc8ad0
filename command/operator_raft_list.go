package command

import (
	"strconv"

	"github.com/nomadlike/nomadlike/api"
)

// OperatorRaftListCommand lists the Raft peers.
type OperatorRaftListCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorRaftListCommand) Name() string { return "operator raft list-peers" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorRaftListCommand) Synopsis() string {
	return "Display the current Raft peer configuration"
}

// Help returns the command's usage text.
func (c *OperatorRaftListCommand) Help() string {
	return `Usage: nomadlike operator raft list-peers [options]

  Displays the servers in the Raft configuration, which one is the leader
  and which ones vote.

` + generalOptionsUsage() + `

List Peers Options:

  -stale
    Let any server answer from its local state instead of the leader;
    useful when there is no leader.`
}

// Run runs the command.
func (c *OperatorRaftListCommand) Run(args []string) int {
	var stale bool
	fs := c.FlagSet(c.Name())
	fs.BoolVar(&stale, "stale", false, "")
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
	q := &api.QueryOptions{AllowStale: stale}
	cfg, err := client.Operator().RaftGetConfiguration(q)
	if err != nil {
		return c.errorf("retrieving raft configuration", err)
	}
	if c.json {
		return c.outputJSON(cfg)
	}

	rows := make([][]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		rows = append(rows, []string{s.Node, s.ID, s.Address, state, strconv.FormatBool(s.Voter), s.RaftProtocol})
	}
	c.Ui.Output(formatTable([]string{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"}, rows))
	return 0
}
