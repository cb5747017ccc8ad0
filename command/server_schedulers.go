package command

import (
	"flag"
	"fmt"
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// ServerSchedulersCommand shows, and changes, a server's scheduler
// workers.
type ServerSchedulersCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ServerSchedulersCommand) Name() string { return "server schedulers" }

// Synopsis returns the one-line summary of the command.
func (c *ServerSchedulersCommand) Synopsis() string {
	return "Display or change a server's scheduler workers"
}

// Help returns the command's usage text.
func (c *ServerSchedulersCommand) Help() string {
	return `Usage: nomadlike server schedulers [options]

  Displays the scheduler workers of the server the command talks to: their
  status (only the leader's workers run; a follower's are Paused), what each
  is doing and which scheduler types it runs. With -num or -enabled, first
  changes the worker pool until the next change or restart.

` + generalOptionsUsage() + `

Server Schedulers Options:

  -num=<n>
    Run n workers (0 stops scheduling on this server).

  -enabled=<types>
    Comma-separated scheduler types the workers run: pipeline, config and
    _core (required).`
}

// Run runs the command.
func (c *ServerSchedulersCommand) Run(args []string) int {
	var num int
	var enabled string
	fs := c.FlagSet(c.Name())
	fs.IntVar(&num, "num", 0, "")
	fs.StringVar(&enabled, "enabled", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	// A -num that was given is sent, whatever its value: the agent's 400
	// for a negative one says more than silently ignoring it.
	numSet := false
	fs.Visit(func(f *flag.Flag) { numSet = numSet || f.Name == "num" })
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	agent := client.Agent()
	if numSet || enabled != "" {
		cur, err := agent.GetSchedulerWorkerConfig(nil)
		if err != nil {
			return c.errorf("reading the scheduler configuration", err)
		}
		args := cur.SchedulerWorkerPoolArgs
		if numSet {
			args.NumSchedulers = num
		}
		if enabled != "" {
			args.EnabledSchedulers = strings.Split(enabled, ",")
		}
		if _, err := agent.SetSchedulerWorkerConfig(args, nil); err != nil {
			return c.errorf("changing the scheduler configuration", err)
		}
	}
	info, err := agent.GetSchedulerWorkersInfo(nil)
	if err != nil {
		return c.errorf("querying scheduler workers", err)
	}
	if c.json {
		return c.outputJSON(info)
	}
	c.Ui.Output(formatSchedulerWorkers(info))
	return 0
}

func formatSchedulerWorkers(info *api.AgentSchedulerWorkersInfo) string {
	if len(info.Schedulers) == 0 {
		return fmt.Sprintf("Server %s runs no scheduler workers", info.ServerID)
	}
	rows := make([][]string, 0, len(info.Schedulers))
	for _, w := range info.Schedulers {
		rows = append(rows, []string{shortID(w.ID, false), w.Status, w.WorkloadStatus,
			strings.Join(w.EnabledSchedulers, ","), w.Started})
	}
	return "Server " + info.ServerID + "\n" +
		formatTable([]string{"ID", "Status", "Workload", "Schedulers", "Started"}, rows)
}
