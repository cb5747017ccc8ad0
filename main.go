// Command nomadlike is the single binary of the nomadlike fleet control plane:
// it runs agents (servers, clients or both) and is the operator's CLI.
package main

import (
	"os"

	"github.com/nomadlike/nomadlike/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
