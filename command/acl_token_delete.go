package command

import "fmt"

// ACLTokenDeleteCommand deletes an ACL token.
type ACLTokenDeleteCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLTokenDeleteCommand) Name() string { return "acl token delete" }

// Synopsis returns the one-line summary of the command.
func (c *ACLTokenDeleteCommand) Synopsis() string { return "Delete an existing ACL token" }

// Help returns the command's usage text.
func (c *ACLTokenDeleteCommand) Help() string {
	return `Usage: nomadlike acl token delete [options] <accessor_id>

  Deletes the ACL token with the accessor ID <accessor_id>; its secret
  stops working at once. Requires a management token.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *ACLTokenDeleteCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <accessor_id>")
	}
	accessorID := fs.Arg(0)

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if _, err := client.ACLTokens().Delete(accessorID, nil); err != nil {
		return c.errorf("deleting token", err)
	}
	c.Ui.Output(fmt.Sprintf("Token %s successfully deleted", accessorID))
	return 0
}
