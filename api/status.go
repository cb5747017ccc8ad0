package api

// Status is the handle on the /v1/status endpoints.
type Status struct {
	client *Client
}

// Status returns the handle on the /v1/status endpoints.
func (c *Client) Status() *Status { return &Status{client: c} }

// Leader returns the RPC address of the Raft leader, such as
// "127.0.0.1:4647", or "" when there is none (GET /v1/status/leader).
func (s *Status) Leader() (string, error) {
	var leader string
	if _, err := s.client.query("/v1/status/leader", &leader, nil); err != nil {
		return "", err
	}
	return leader, nil
}

// Peers returns the RPC addresses of the Raft peers
// (GET /v1/status/peers).
func (s *Status) Peers() ([]string, error) {
	var peers []string
	if _, err := s.client.query("/v1/status/peers", &peers, nil); err != nil {
		return nil, err
	}
	if peers == nil {
		peers = []string{}
	}
	return peers, nil
}
