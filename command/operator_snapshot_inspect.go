package command

import (
	"os"
	"sort"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/snapshot"
)

// OperatorSnapshotInspectCommand describes a snapshot file. It reads the
// file with the server's own snapshot code (nomadlike/snapshot and the
// fsm's decoder), not through an agent: inspecting a backup must work
// with no cluster running.
type OperatorSnapshotInspectCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorSnapshotInspectCommand) Name() string { return "operator snapshot inspect" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorSnapshotInspectCommand) Synopsis() string {
	return "Displays information about a snapshot file"
}

// Help returns the command's usage text.
func (c *OperatorSnapshotInspectCommand) Help() string {
	return `Usage: nomadlike operator snapshot inspect [options] <file>

  Verifies a snapshot file's checksums, decodes its state as a restore
  would, and prints its ID, raft index and term, size, and the number of
  records of each type. Needs no agent.

Inspect Options:

  -json
    Output in JSON format.`
}

// Run runs the command.
func (c *OperatorSnapshotInspectCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 {
		return c.usageError(c.Help(), "This command takes one argument: <file>")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return c.errorf("opening snapshot", err)
	}
	defer f.Close()
	info, err := snapshot.Inspect(f)
	if err != nil {
		return c.errorf("inspecting snapshot", err)
	}
	if c.json {
		return c.outputJSON(map[string]any{
			"ID": info.Meta.ID, "Index": info.Meta.Index, "Term": info.Meta.Term,
			"Size": info.Meta.Size, "Version": info.Meta.Version, "Counts": info.Counts,
		})
	}
	c.Ui.Output(formatKV([][2]string{
		{"ID", info.Meta.ID},
		{"Size", strconv.FormatInt(info.Meta.Size, 10)},
		{"Index", strconv.FormatUint(info.Meta.Index, 10)},
		{"Term", strconv.FormatUint(info.Meta.Term, 10)},
		{"Version", strconv.Itoa(int(info.Meta.Version))},
	}))
	types := make([]string, 0, len(info.Counts))
	for t := range info.Counts {
		types = append(types, t)
	}
	sort.Strings(types)
	rows := make([][]string, 0, len(types))
	for _, t := range types {
		rows = append(rows, []string{t, strconv.Itoa(info.Counts[t])})
	}
	c.Ui.Output("")
	c.Ui.Output(formatTable([]string{"Type", "Count"}, rows))
	return 0
}
