package command

import (
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/api"
)

// ACLTokenCreateCommand issues a new ACL token.
type ACLTokenCreateCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLTokenCreateCommand) Name() string { return "acl token create" }

// Synopsis returns the one-line summary of the command.
func (c *ACLTokenCreateCommand) Synopsis() string { return "Create a new ACL token" }

// Help returns the command's usage text.
func (c *ACLTokenCreateCommand) Help() string {
	return `Usage: nomadlike acl token create [options]

  Creates an ACL token and prints it, secret ID included. Requires a
  management token.

` + generalOptionsUsage() + `

Create Options:

  -name=<name>
    A human-readable name for the token.

  -type=<type>
    "client" (the default), allowed what its policies grant, or
    "management", allowed everything.

  -policy=<name>
    A policy the token grants. Repeat it for several policies. A client
    token needs at least one; a management token takes none.

  -global
    Make the token global, replicated to every region.

  -ttl=<duration>
    Make the token expire this long after it is created, such as "1h" or
    "720h". By default a token never expires.`
}

// Run runs the command.
func (c *ACLTokenCreateCommand) Run(args []string) int {
	var (
		name, tokenType, ttl string
		global               bool
		policies             stringSliceFlag
	)
	fs := c.FlagSet(c.Name())
	fs.StringVar(&name, "name", "", "")
	fs.StringVar(&tokenType, "type", api.ACLClientToken, "")
	fs.Var(&policies, "policy", "")
	fs.BoolVar(&global, "global", false, "")
	fs.StringVar(&ttl, "ttl", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if msg := checkTokenShape(tokenType, policies); msg != "" {
		return c.usageError(c.Help(), msg)
	}
	token := &api.ACLToken{Name: name, Type: tokenType, Policies: policies, Global: global}
	if ttl != "" {
		d, err := time.ParseDuration(ttl)
		if err != nil || d <= 0 {
			return c.usageError(c.Help(), fmt.Sprintf("Invalid -ttl %q: must be a positive duration such as \"1h\"", ttl))
		}
		token.ExpirationTTL = d
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	created, _, err := client.ACLTokens().Create(token, nil)
	if err != nil {
		return c.errorf("creating token", err)
	}
	defer c.warnMissingPolicies(client, policies)
	if c.json {
		return c.outputJSON(created)
	}
	c.Ui.Output(formatACLToken(created))
	return 0
}

// warnMissingPolicies names the token's policies that do not exist (yet):
// a token may be made before its policy, as in Nomad, but a misspelt name
// would otherwise grant nothing without a word. The check is best effort:
// if the policies cannot be listed, it says nothing.
func (c *ACLTokenCreateCommand) warnMissingPolicies(client *api.Client, names []string) {
	if len(names) == 0 {
		return
	}
	stubs, _, err := client.ACLPolicies().List(nil)
	if err != nil {
		return
	}
	known := map[string]bool{}
	for _, p := range stubs {
		known[p.Name] = true
	}
	for _, n := range names {
		if !known[n] {
			c.Ui.Warn(fmt.Sprintf("Warning: policy %q does not exist; the token gets nothing from it until a policy of that name is created", n))
		}
	}
}
