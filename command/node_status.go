package command

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// NodeStatusCommand lists client nodes, or shows one of them.
type NodeStatusCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *NodeStatusCommand) Name() string { return "node status" }

// Synopsis returns the one-line summary of the command.
func (c *NodeStatusCommand) Synopsis() string { return "Display status information about nodes" }

// Help returns the command's usage text.
func (c *NodeStatusCommand) Help() string {
	return `Usage: nomadlike node status [options] [<node-id>]

  Without an argument, lists the registered client nodes. With a node ID,
  or any prefix of one that matches a single node, shows that node in
  detail: its status, attributes and metadata, the pipelines and configs
  the schedulers assigned it and whether it applied them.

` + generalOptionsUsage() + `

Node Status Options:

  -verbose
    Show full node IDs instead of their first 8 characters.`
}

// Run runs the command.
func (c *NodeStatusCommand) Run(args []string) int {
	var verbose bool
	fs := c.FlagSet(c.Name())
	fs.BoolVar(&verbose, "verbose", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() > 1 {
		return c.usageError(c.Help(), "This command takes either no arguments or one: <node-id>")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if fs.NArg() == 0 {
		return c.list(client, verbose)
	}
	prefix := fs.Arg(0)
	if prefix == "" {
		return c.usageError(c.Help(), "The node ID must not be empty")
	}
	return c.detail(client, prefix, verbose)
}

// list prints every node as a table.
func (c *NodeStatusCommand) list(client *api.Client, verbose bool) int {
	nodes, _, err := client.Nodes().List(nil)
	if err != nil {
		return c.errorf("querying node status", err)
	}
	if c.json {
		return c.outputJSON(nodes)
	}
	if len(nodes) == 0 {
		c.Ui.Output("No nodes registered")
		return 0
	}
	c.Ui.Output(formatNodeStubs(nodes, verbose))
	return 0
}

// nodeByPrefix resolves a node ID prefix to one node's ID. When none or
// several match, id is empty and miss says so (listing the matches).
func nodeByPrefix(client *api.Client, prefix string, verbose bool) (id, miss string, err error) {
	stubs, _, err := client.Nodes().PrefixList(prefix)
	if err != nil {
		return "", "", err
	}
	// Keep only true prefix matches, in case the server widened the prefix
	// (an odd-length UUID prefix may be rounded down).
	matches := make([]*api.NodeListStub, 0, len(stubs))
	for _, s := range stubs {
		if s.ID == prefix {
			return s.ID, "", nil
		}
		if strings.HasPrefix(s.ID, prefix) {
			matches = append(matches, s)
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Sprintf("No node(s) with prefix %q found", prefix), nil
	case 1:
		return matches[0].ID, "", nil
	default:
		return "", fmt.Sprintf("Prefix matched multiple nodes\n\n%s", formatNodeStubs(matches, verbose)), nil
	}
}

// detail resolves prefix to one node and prints it.
func (c *NodeStatusCommand) detail(client *api.Client, prefix string, verbose bool) int {
	id, miss, err := nodeByPrefix(client, prefix, verbose)
	if err != nil {
		return c.errorf("querying node info", err)
	}
	if miss != "" {
		c.Ui.Error(miss)
		return 1
	}

	node, _, err := client.Nodes().Info(id, nil)
	if err != nil {
		return c.errorf("querying node info", err)
	}
	if c.json {
		return c.outputJSON(node)
	}
	out := formatNode(node)
	if a, _, err := client.Nodes().Assignment(node.ID, nil); err == nil {
		out += "\n\n" + formatAssignment(a, verbose)
	} else {
		c.Ui.Warn(fmt.Sprintf("Error querying the node's assignment: %v", err))
	}
	c.Ui.Output(out)
	return 0
}

// formatAssignment renders a node's assigned pipelines and configs and
// whether the node applied them.
func formatAssignment(a *api.NodeAssignment, verbose bool) string {
	var b strings.Builder
	applied := "false"
	if a.Applied {
		applied = "true"
	}
	hash := func(h string) string {
		if !verbose && len(h) > 12 {
			return h[:12]
		}
		return h
	}
	kv := [][2]string{{"Applied", applied}, {"Assigned Hash", hash(a.Hash)}, {"Applied Hash", hash(a.AppliedHash)}}
	if a.AppliedAt != "" {
		kv = append(kv, [2]string{"Applied At", a.AppliedAt})
	}
	if a.AppliedError != "" {
		kv = append(kv, [2]string{"Apply Error", a.AppliedError})
	}
	b.WriteString("Assignment\n" + formatKV(kv))
	b.WriteString("\n\nAssigned Pipelines\n")
	if len(a.Pipelines) == 0 {
		b.WriteString("No pipelines assigned")
	} else {
		rows := make([][]string, 0, len(a.Pipelines))
		for _, p := range a.Pipelines {
			rows = append(rows, []string{p.ID, p.Name})
		}
		b.WriteString(formatTable([]string{"ID", "Name"}, rows))
	}
	if len(a.Configs) > 0 {
		b.WriteString("\n\nAssigned Configs\n" + strings.Join(a.Configs, "\n"))
	}
	if len(a.Instances) > 0 {
		rows := make([][]string, 0, len(a.Instances))
		for _, in := range a.Instances {
			rows = append(rows, instanceRow(in.Name, in.Source, in.State, in.Error, in.LastError,
				in.TargetsUp, in.TargetsDown, in.TargetsUnknown))
		}
		b.WriteString("\n\nMetrics Instances\n" + formatTable(instanceHeader, rows))
	}
	return b.String()
}

// instanceHeader and instanceRow render a metrics instance in node status
// and config status.
var instanceHeader = []string{"Instance", "Source", "State", "Targets Up", "Down", "Unknown", "Last Error"}

func instanceRow(name, source, state, errText, lastErr string, up, down, unknown int) []string {
	if errText != "" {
		lastErr = errText
	}
	return []string{name, source, state, strconv.Itoa(up), strconv.Itoa(down), strconv.Itoa(unknown), lastErr}
}

// formatNodeStubs renders the node list table.
func formatNodeStubs(nodes []*api.NodeListStub, verbose bool) string {
	rows := make([][]string, 0, len(nodes))
	for _, n := range nodes {
		rows = append(rows, []string{shortID(n.ID, verbose), n.Datacenter, n.Name, n.Status})
	}
	return formatTable([]string{"ID", "DC", "Name", "Status"}, rows)
}

// formatNode renders the detail view of one node.
func formatNode(n *api.Node) string {
	var b strings.Builder
	b.WriteString(formatKV([][2]string{
		{"ID", n.ID},
		{"Name", n.Name},
		{"Datacenter", n.Datacenter},
		{"Status", n.Status},
		{"Status Description", n.StatusDescription},
		{"HTTP Addr", n.HTTPAddr},
	}))
	for _, section := range []struct {
		title string
		kv    map[string]string
	}{{"Attributes", n.Attributes}, {"Meta", n.Meta}} {
		if len(section.kv) == 0 {
			continue
		}
		pairs := make([][2]string, 0, len(section.kv))
		for _, k := range sortedKeys(section.kv) {
			pairs = append(pairs, [2]string{k, section.kv[k]})
		}
		b.WriteString("\n\n" + section.title + "\n" + formatKV(pairs))
	}
	return b.String()
}
