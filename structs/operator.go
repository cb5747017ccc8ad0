package structs

// RaftServer is one server of the Raft configuration, as
// /v1/operator/raft/configuration shows it.
type RaftServer struct {
	// ID is the server's raft ID (its node ID).
	ID string
	// Node is the server's gossip name.
	Node string
	// Address is the server's RPC address.
	Address      string
	Leader       bool
	Voter        bool
	RaftProtocol string
}

// RaftConfigurationResponse is the Raft configuration.
type RaftConfigurationResponse struct {
	Servers []*RaftServer
	// Index is the raft index of the configuration.
	Index uint64
}

// RaftPeerByIDRequest removes a peer from the Raft configuration by ID.
type RaftPeerByIDRequest struct {
	ID string
	WriteRequest
}

// ServerMember is one member of the servers' gossip pool, in the shape of
// Nomad's /v1/agent/members.
type ServerMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      string
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// ServerMembersResponse is the gossip pool as one server sees it.
type ServerMembersResponse struct {
	ServerName   string
	ServerRegion string
	ServerDC     string
	Members      []*ServerMember
}

// PeersResponse lists the voters' RPC addresses.
type PeersResponse struct {
	Peers []string
}

// ServerLeaveRequest tells the leader that a server is leaving (gracefully
// or by force-leave), so it acts without waiting for gossip.
type ServerLeaveRequest struct {
	Member string
	Prune  bool
	// AuthToken is the operator's token when a server relays a
	// force-leave; a server's own leave carries none (the leader asks the
	// member itself instead).
	AuthToken string
}

// ServerLeavingResponse is a server's answer to whether it is leaving.
type ServerLeavingResponse struct {
	Name    string
	Leaving bool
}
