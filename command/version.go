package command

import (
	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/structs"
)

// VersionCommand prints the version of this binary.
type VersionCommand struct {
	// Ui receives the output.
	Ui cli.Ui
}

// Name returns the words that invoke the command.
func (c *VersionCommand) Name() string { return "version" }

// Synopsis returns the one-line summary of the command.
func (c *VersionCommand) Synopsis() string { return "Prints the nomadlike version" }

// Help returns the command's usage text.
func (c *VersionCommand) Help() string {
	return `Usage: nomadlike version

  Prints the version of this nomadlike binary.`
}

// Run prints "nomadlike v<version>".
func (c *VersionCommand) Run(_ []string) int {
	c.Ui.Output("nomadlike v" + structs.VersionString())
	return 0
}
