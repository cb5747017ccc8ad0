package command

import (
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// ServerMembersCommand lists the servers in the gossip pool.
type ServerMembersCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ServerMembersCommand) Name() string { return "server members" }

// Synopsis returns the one-line summary of the command.
func (c *ServerMembersCommand) Synopsis() string {
	return "Display a list of known servers and their status"
}

// Help returns the command's usage text.
func (c *ServerMembersCommand) Help() string {
	return `Usage: nomadlike server members [options]

  Displays the servers in the gossip pool as the agent sees them, with
  their status and which one is the Raft leader.

` + generalOptionsUsage() + `

Server Members Options:

  -detailed
    Also show the gossip protocol version and every tag of each server.`
}

// Run runs the command.
func (c *ServerMembersCommand) Run(args []string) int {
	var detailed bool
	fs := c.FlagSet(c.Name())
	fs.BoolVar(&detailed, "detailed", false, "")
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
	resp, err := client.Agent().Members()
	if err != nil {
		return c.errorf("querying servers", err)
	}
	if resp == nil {
		resp = &api.ServerMembers{Members: []*api.AgentMember{}}
	}
	if c.json {
		return c.outputJSON(resp)
	}

	leader, err := client.Status().Leader()
	if err != nil {
		return c.errorf("determining leader", err)
	}

	members := append([]*api.AgentMember(nil), resp.Members...)
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })

	header := []string{"Name", "Address", "Port", "Status", "Leader", "Build", "Datacenter", "Region"}
	if detailed {
		header = []string{"Name", "Address", "Port", "Status", "Leader", "Protocol", "Tags"}
	}
	rows := make([][]string, 0, len(members))
	for _, m := range members {
		isLeader := strconv.FormatBool(isLeaderMember(m, leader))
		port := strconv.Itoa(int(m.Port))
		if detailed {
			rows = append(rows, []string{m.Name, m.Addr, port, m.Status, isLeader,
				strconv.Itoa(int(m.ProtocolCur)), formatTags(m.Tags)})
			continue
		}
		rows = append(rows, []string{m.Name, m.Addr, port, m.Status, isLeader,
			m.Tags["build"], m.Tags["dc"], m.Tags["region"]})
	}
	c.Ui.Output(formatTable(header, rows))
	return 0
}

// isLeaderMember reports whether m's RPC address (Addr and the "port" tag)
// is the leader address.
func isLeaderMember(m *api.AgentMember, leader string) bool {
	port := m.Tags["port"]
	if leader == "" || port == "" {
		return false
	}
	return net.JoinHostPort(m.Addr, port) == leader
}

// formatTags renders tags as "k1=v1,k2=v2" sorted by key.
func formatTags(tags map[string]string) string {
	pairs := make([]string, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		pairs = append(pairs, k+"="+tags[k])
	}
	return strings.Join(pairs, ",")
}
