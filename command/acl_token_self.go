package command

// ACLTokenSelfCommand shows the ACL token the request is made with.
type ACLTokenSelfCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLTokenSelfCommand) Name() string { return "acl token self" }

// Synopsis returns the one-line summary of the command.
func (c *ACLTokenSelfCommand) Synopsis() string { return "Lookup self ACL token" }

// Help returns the command's usage text.
func (c *ACLTokenSelfCommand) Help() string {
	return `Usage: nomadlike acl token self [options]

  Shows the ACL token given by -token or NOMADLIKE_TOKEN: its name, type,
  policies and expiry. Any valid token may look itself up.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *ACLTokenSelfCommand) Run(args []string) int {
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
	token, _, err := client.ACLTokens().Self(nil)
	if err != nil {
		return c.errorf("fetching self token", err)
	}
	if c.json {
		return c.outputJSON(token)
	}
	c.Ui.Output(formatACLToken(token))
	return 0
}
