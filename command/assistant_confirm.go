package command

import "fmt"

// AssistantConfirmCommand approves or rejects a change the assistant
// proposed.
type AssistantConfirmCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *AssistantConfirmCommand) Name() string { return "assistant confirm" }

// Synopsis returns the one-line summary of the command.
func (c *AssistantConfirmCommand) Synopsis() string {
	return "Run (or reject) a change the ops assistant proposed"
}

// Help returns the command's usage text.
func (c *AssistantConfirmCommand) Help() string {
	return `Usage: nomadlike assistant confirm [options] <chat-id> <request-id>

  Runs a change the assistant proposed (a REMOTE_TOOL_REQUEST), with your
  token: the change needs the capability it always needs (pipeline:write
  to disable a pipeline, and so on). The outcome is added to the chat. A
  change runs at most once; a second confirmation is refused.
  Requires assistant:write.

` + generalOptionsUsage() + `

Confirm Options:

  -reject
    Reject the change instead: nothing runs.`
}

// Run runs the command.
func (c *AssistantConfirmCommand) Run(args []string) int {
	var reject bool
	fs := c.FlagSet(c.Name())
	fs.BoolVar(&reject, "reject", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 2 {
		return c.usageError(c.Help(), "This command takes two arguments: the chat's ID and the request's ID")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	tr, _, err := client.Assistant().Confirm(fs.Arg(0), fs.Arg(1), !reject, nil)
	if err != nil {
		return c.errorf("confirming the change", err)
	}
	if c.json {
		return c.outputJSON(tr)
	}
	switch tr.State {
	case "rejected":
		c.Ui.Output("Rejected: " + tr.Description)
	case "failed":
		c.Ui.Error(fmt.Sprintf("Failed: %s: %s", tr.Description, tr.Result))
		return 1
	default:
		c.Ui.Output("Done: " + tr.Description)
		if tr.Result != "" && tr.Result != "ok" {
			c.Ui.Output(tr.Result)
		}
	}
	return 0
}
