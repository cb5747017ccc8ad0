package command

import (
	"fmt"
	"strings"
	"time"
)

// AssistantShowCommand prints one chat.
type AssistantShowCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *AssistantShowCommand) Name() string { return "assistant show" }

// Synopsis returns the one-line summary of the command.
func (c *AssistantShowCommand) Synopsis() string { return "Show a chat with the ops assistant" }

// Help returns the command's usage text.
func (c *AssistantShowCommand) Help() string {
	return `Usage: nomadlike assistant show [options] <chat-id>

  Prints a chat's messages, the state of its latest answer and the changes
  the assistant proposed. Requires assistant:read.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *AssistantShowCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 {
		return c.usageError(c.Help(), "This command takes one argument: the chat's ID")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	chat, _, err := client.Assistant().Chat(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("reading the chat", err)
	}
	if c.json {
		return c.outputJSON(chat)
	}
	state := "-"
	if e := chat.Execution; e != nil {
		state = e.State
		if e.Error != "" {
			state += ": " + e.Error
		}
	}
	c.Ui.Output(formatKV([][2]string{
		{"ID", chat.ID},
		{"Name", chat.Name},
		{"User", chat.UserID},
		{"Created", chat.Created.UTC().Format(time.RFC3339)},
		{"Answer", state},
	}))
	for _, m := range chat.Messages {
		c.Ui.Output(fmt.Sprintf("\n[%s] %s:\n%s", m.Timestamp.UTC().Format(time.RFC3339), m.Role, strings.TrimRight(m.Text(), "\n")))
	}
	if len(chat.ToolRequests) > 0 {
		rows := make([][]string, 0, len(chat.ToolRequests))
		for _, tr := range chat.ToolRequests {
			rows = append(rows, []string{tr.ID, tr.State, tr.Description})
		}
		c.Ui.Output("\nProposed changes")
		c.Ui.Output(formatTable([]string{"ID", "State", "Change"}, rows))
	}
	return 0
}
