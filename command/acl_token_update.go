package command

import (
	"flag"

	"github.com/nomadlike/nomadlike/api"
)

// ACLTokenUpdateCommand changes the name, type, policies or global flag
// of an ACL token.
type ACLTokenUpdateCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLTokenUpdateCommand) Name() string { return "acl token update" }

// Synopsis returns the one-line summary of the command.
func (c *ACLTokenUpdateCommand) Synopsis() string { return "Update an existing ACL token" }

// Help returns the command's usage text.
func (c *ACLTokenUpdateCommand) Help() string {
	return `Usage: nomadlike acl token update [options] <accessor_id>

  Changes the ACL token with the accessor ID <accessor_id> and prints it.
  Only the fields given by flags change; the secret and the expiry stay.
  Requires a management token.

` + generalOptionsUsage() + `

Update Options:

  -name=<name>
    A new human-readable name.

  -type=<type>
    A new type, "client" or "management". Turning a token into a
    management token drops its policies.

  -policy=<name>
    A policy the token grants; repeat it for several. The policies given
    replace the token's policies. Only for client tokens.

  -global=<bool>
    Whether the token is global, replicated to every region.`
}

// Run runs the command.
func (c *ACLTokenUpdateCommand) Run(args []string) int {
	var (
		name, tokenType string
		global          bool
		policies        stringSliceFlag
	)
	fs := c.FlagSet(c.Name())
	fs.StringVar(&name, "name", "", "")
	fs.StringVar(&tokenType, "type", "", "")
	fs.Var(&policies, "policy", "")
	fs.BoolVar(&global, "global", false, "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <accessor_id>")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["name"] && !set["type"] && !set["policy"] && !set["global"] {
		return c.usageError(c.Help(), "Nothing to update: give -name, -type, -policy or -global")
	}
	if set["type"] && tokenType != api.ACLClientToken && tokenType != api.ACLManagementToken {
		return c.usageError(c.Help(), checkTokenShape(tokenType, nil))
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	token, _, err := client.ACLTokens().Info(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("fetching token", err)
	}

	if set["name"] {
		token.Name = name
	}
	if set["type"] {
		token.Type = tokenType
		if tokenType == api.ACLManagementToken && !set["policy"] {
			token.Policies = nil
		}
	}
	if set["policy"] {
		token.Policies = policies
	}
	if set["global"] {
		token.Global = global
	}
	if msg := checkTokenShape(token.Type, token.Policies); msg != "" {
		c.Ui.Error(msg)
		return 1
	}

	updated, _, err := client.ACLTokens().Update(token, nil)
	if err != nil {
		return c.errorf("updating token", err)
	}
	if c.json {
		return c.outputJSON(updated)
	}
	c.Ui.Output(formatACLToken(updated))
	return 0
}
