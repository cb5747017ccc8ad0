package command

import "time"

// AssistantChatsCommand lists the caller's chats.
type AssistantChatsCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *AssistantChatsCommand) Name() string { return "assistant chats" }

// Synopsis returns the one-line summary of the command.
func (c *AssistantChatsCommand) Synopsis() string { return "List your chats with the ops assistant" }

// Help returns the command's usage text.
func (c *AssistantChatsCommand) Help() string {
	return `Usage: nomadlike assistant chats [options]

  Lists the chats of your token, most recently changed first (a management
  token sees every chat). Requires assistant:read.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *AssistantChatsCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
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
	chats, _, err := client.Assistant().Chats(nil)
	if err != nil {
		return c.errorf("listing chats", err)
	}
	if c.json {
		return c.outputJSON(chats)
	}
	if len(chats) == 0 {
		c.Ui.Output("No chats")
		return 0
	}
	rows := make([][]string, 0, len(chats))
	for _, ch := range chats {
		state := "-"
		if ch.Execution != nil {
			state = ch.Execution.State
		}
		rows = append(rows, []string{ch.ID, ch.Name, ch.UserID, state, ch.Modified.UTC().Format(time.RFC3339)})
	}
	c.Ui.Output(formatTable([]string{"ID", "Name", "User", "Answer", "Modified"}, rows))
	return 0
}
