package command

import "flag"

// targetFlags are the -server-id and -node-id of the commands that reach
// one agent through the servers (monitor, operator host, operator pprof).
type targetFlags struct {
	serverID, nodeID string
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.serverID, "server-id", "", "")
	fs.StringVar(&t.nodeID, "node-id", "", "")
}

// usageError is the complaint about the flags, "" when they are fine.
func (t *targetFlags) usageError() string {
	if t.serverID != "" && t.nodeID != "" {
		return "Only one of -server-id and -node-id may be given"
	}
	return ""
}
