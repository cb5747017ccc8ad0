package command

// ACLBootstrapCommand mints the first management token of the cluster.
type ACLBootstrapCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLBootstrapCommand) Name() string { return "acl bootstrap" }

// Synopsis returns the one-line summary of the command.
func (c *ACLBootstrapCommand) Synopsis() string { return "Bootstrap the ACL system for initial token" }

// Help returns the command's usage text.
func (c *ACLBootstrapCommand) Help() string {
	return `Usage: nomadlike acl bootstrap [options]

  Bootstraps the ACL system and prints the first management token, secret
  ID included. It works once per cluster: keep the secret safe, since it
  is allowed everything and cannot be shown again.

` + generalOptionsUsage() + `

Bootstrap Options:

  -secret=<uuid>
    Use this UUID as the token's secret ID instead of one chosen by the
    server. Beware that it may end up in the shell history.`
}

// Run runs the command.
func (c *ACLBootstrapCommand) Run(args []string) int {
	var secret string
	fs := c.FlagSet(c.Name())
	fs.StringVar(&secret, "secret", "", "")
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
	token, _, err := client.ACLTokens().BootstrapOpts(secret, nil)
	if err != nil {
		return c.errorf("bootstrapping", err)
	}
	if c.json {
		return c.outputJSON(token)
	}
	c.Ui.Output(formatACLToken(token))
	return 0
}
