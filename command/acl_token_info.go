package command

// ACLTokenInfoCommand shows one ACL token.
type ACLTokenInfoCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLTokenInfoCommand) Name() string { return "acl token info" }

// Synopsis returns the one-line summary of the command.
func (c *ACLTokenInfoCommand) Synopsis() string { return "Fetch information on an existing ACL token" }

// Help returns the command's usage text.
func (c *ACLTokenInfoCommand) Help() string {
	return `Usage: nomadlike acl token info [options] <accessor_id>

  Shows the ACL token with the accessor ID <accessor_id>, secret ID
  included. Requires a management token; "nomadlike acl token self" shows
  the token in use without one.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *ACLTokenInfoCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <accessor_id>")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	token, _, err := client.ACLTokens().Info(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("fetching token", err)
	}
	if c.json {
		return c.outputJSON(token)
	}
	c.Ui.Output(formatACLToken(token))
	return 0
}
