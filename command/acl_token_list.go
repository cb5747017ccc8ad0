package command

import (
	"strconv"
	"time"
)

// ACLTokenListCommand lists the ACL tokens.
type ACLTokenListCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLTokenListCommand) Name() string { return "acl token list" }

// Synopsis returns the one-line summary of the command.
func (c *ACLTokenListCommand) Synopsis() string { return "List ACL tokens" }

// Help returns the command's usage text.
func (c *ACLTokenListCommand) Help() string {
	return `Usage: nomadlike acl token list [options]

  Lists the ACL tokens, without their secrets, and whether each one has
  expired. Requires a management token.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *ACLTokenListCommand) Run(args []string) int {
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
	tokens, _, err := client.ACLTokens().List(nil)
	if err != nil {
		return c.errorf("listing ACL tokens", err)
	}
	if c.json {
		return c.outputJSON(tokens)
	}
	if len(tokens) == 0 {
		c.Ui.Output("No tokens found")
		return 0
	}
	now := time.Now()
	rows := make([][]string, 0, len(tokens))
	for _, t := range tokens {
		expired := t.ExpirationTime != nil && !t.ExpirationTime.IsZero() && !now.Before(*t.ExpirationTime)
		rows = append(rows, []string{t.Name, t.Type, strconv.FormatBool(t.Global), t.AccessorID, strconv.FormatBool(expired)})
	}
	c.Ui.Output(formatTable([]string{"Name", "Type", "Global", "Accessor ID", "Expired"}, rows))
	return 0
}
