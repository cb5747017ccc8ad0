package command

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
)

// gossipKeySize is the size of a gossip encryption key: 32 bytes selects
// AES-256 in memberlist.
const gossipKeySize = 32

// OperatorGossipKeygenCommand prints a new gossip encryption key. It runs
// locally and needs no agent.
type OperatorGossipKeygenCommand struct {
	Meta

	// rand is the source of the key; nil means crypto/rand.Reader.
	rand io.Reader
}

// Name returns the words that invoke the command.
func (c *OperatorGossipKeygenCommand) Name() string { return "operator gossip keygen" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorGossipKeygenCommand) Synopsis() string {
	return "Generates a new gossip encryption key"
}

// Help returns the command's usage text.
func (c *OperatorGossipKeygenCommand) Help() string {
	return `Usage: nomadlike operator gossip keygen

  Prints a new random 32-byte key, base64-encoded, that encrypts the
  servers' gossip with AES-256. Give the same key to every server with the
  agent's -encrypt option. The key is made locally; no agent is needed.`
}

// Run runs the command.
func (c *OperatorGossipKeygenCommand) Run(args []string) int {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}

	src := c.rand
	if src == nil {
		src = rand.Reader
	}
	key := make([]byte, gossipKeySize)
	if _, err := io.ReadFull(src, key); err != nil {
		return c.errorf("generating key", fmt.Errorf("reading random bytes: %w", err))
	}
	c.Ui.Output(base64.StdEncoding.EncodeToString(key))
	return 0
}
