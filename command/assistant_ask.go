package command

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/nomadlike/nomadlike/api"
)

// AssistantAskCommand asks the assistant and streams its answer.
type AssistantAskCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *AssistantAskCommand) Name() string { return "assistant ask" }

// Synopsis returns the one-line summary of the command.
func (c *AssistantAskCommand) Synopsis() string { return "Ask the ops assistant and stream its answer" }

// Help returns the command's usage text.
func (c *AssistantAskCommand) Help() string {
	return `Usage: nomadlike assistant ask [options] <question>

  Starts a chat with the question (or continues one with -chat) and prints
  the answer as the assistant writes it. A change the assistant proposes
  is printed with the command that confirms it; nothing changes until you
  run that. The chat's ID is printed first, to continue it or show it.
  Requires assistant:write; what the answer may show depends on the
  token's other capabilities (node:read for nodes, and so on).

` + generalOptionsUsage() + `

Ask Options:

  -chat=<id>
    Continue this chat instead of starting a new one.

  -detach
    Print the chat's ID and return without waiting for the answer.`
}

// Run runs the command.
func (c *AssistantAskCommand) Run(args []string) int {
	var chatID string
	var detach bool
	fs := c.FlagSet(c.Name())
	fs.StringVar(&chatID, "chat", "", "")
	fs.BoolVar(&detach, "detach", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	question := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if question == "" {
		return c.usageError(c.Help(), "Missing the question")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	id, _, err := client.Assistant().Ask(question, chatID, nil)
	if err != nil {
		return c.errorf("asking the assistant", err)
	}
	if detach {
		if c.json {
			return c.outputJSON(map[string]string{"chatId": id})
		}
		c.Ui.Output(id)
		return 0
	}
	// The execution this question started is the chat's latest: only one
	// runs at a time, and it started before Ask answered.
	chat, _, err := client.Assistant().Chat(id, nil)
	if err != nil {
		return c.errorf("reading the chat", err)
	}
	if chat.Execution == nil {
		return c.errorf("reading the chat", fmt.Errorf("chat %s has no execution", id))
	}
	execID := chat.Execution.ID
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	events, streamErr, err := client.Assistant().Stream(ctx, id, "", nil)
	if err != nil {
		return c.errorf("streaming the answer", err)
	}
	if !c.json {
		c.Ui.Output(fmt.Sprintf("Chat %s\n", id))
	}
	p := &answerPrinter{out: c.Ui.Output}
	mine := false
	for ev := range events {
		switch ev.Type {
		case api.ChatEventExecutionStarted:
			x, err := ev.Execution()
			mine = err == nil && x.ExecutionID == execID
		case api.ChatEventMessageUpdated:
			if m, err := ev.Message(); err == nil && mine && m.ID == chat.Execution.MessageID {
				if !c.json {
					p.update(m.Text())
				}
			}
		case api.ChatEventRemoteToolRequest:
			// Between whole lines: a line being written is printed
			// when it is complete.
			if tr, err := ev.ToolRequest(); err == nil && mine && !c.json {
				c.Ui.Output(fmt.Sprintf("\nProposed change: %s\nRun it with:  nomadlike assistant confirm %s %s\nReject it:    nomadlike assistant confirm -reject %s %s\n",
					tr.Description, id, tr.ID, id, tr.ID))
			}
		case api.ChatEventExecutionCompleted, api.ChatEventExecutionFailed:
			x, err := ev.Execution()
			if err != nil || x.ExecutionID != execID {
				continue
			}
			stop()
			p.flush()
			if c.json {
				final, _, err := client.Assistant().Chat(id, nil)
				if err != nil {
					return c.errorf("reading the chat", err)
				}
				return c.outputJSON(final)
			}
			if ev.Type == api.ChatEventExecutionFailed {
				c.Ui.Error("Error: the assistant failed: " + x.Error)
				return 1
			}
			return 0
		}
	}
	if err := streamErr(); err != nil {
		return c.errorf("streaming the answer", err)
	}
	c.Ui.Error("Interrupted: the answer goes on being written; see it with: nomadlike assistant show " + id)
	return 1
}

// answerPrinter prints a growing answer a line at a time, as its lines
// are complete.
type answerPrinter struct {
	out     func(string)
	printed int // bytes of the answer printed
	text    string
}

func (p *answerPrinter) update(text string) {
	if !strings.HasPrefix(text, p.text[:min(len(p.text), p.printed)]) {
		// Not a continuation (cannot happen with the assistant's own
		// writes): print what is new from the start.
		p.printed = 0
	}
	p.text = text
	if i := strings.LastIndexByte(text, '\n'); i >= p.printed {
		p.out(text[p.printed:i])
		p.printed = i + 1
	}
}

func (p *answerPrinter) flush() {
	if p.printed < len(p.text) {
		p.out(p.text[p.printed:])
		p.printed = len(p.text)
	}
}
