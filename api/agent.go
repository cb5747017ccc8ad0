package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Agent is the handle on the /v1/agent endpoints of the agent the client
// talks to.
type Agent struct {
	client *Client
}

// Agent returns the handle on the /v1/agent endpoints.
func (c *Client) Agent() *Agent { return &Agent{client: c} }

// ServerMembers is the answer of /v1/agent/members: the server's gossip
// view of the servers of its region.
type ServerMembers struct {
	// ServerName is the node name of the answering server.
	ServerName string
	// ServerRegion is the region of the answering server.
	ServerRegion string
	// ServerDC is the datacenter of the answering server.
	ServerDC string
	// Members are the servers in the gossip pool.
	Members []*AgentMember
}

// AgentMember is one member of the server gossip pool.
type AgentMember struct {
	// Name is the gossip name, such as "server1.global".
	Name string
	// Addr is the gossip IP address, such as "127.0.0.1".
	Addr string
	// Port is the gossip port, such as 4648.
	Port uint16
	// Tags describe the server. The CLI reads "region", "dc", "build" and
	// "port" (the RPC port, joined with Addr to find the leader).
	Tags map[string]string
	// Status is "alive", "leaving", "left", "failed" or "none".
	Status string
	// ProtocolMin is the lowest gossip protocol version understood.
	ProtocolMin uint8
	// ProtocolMax is the highest gossip protocol version understood.
	ProtocolMax uint8
	// ProtocolCur is the gossip protocol version spoken.
	ProtocolCur uint8
	// DelegateMin is the lowest delegate protocol version understood.
	DelegateMin uint8
	// DelegateMax is the highest delegate protocol version understood.
	DelegateMax uint8
	// DelegateCur is the delegate protocol version spoken.
	DelegateCur uint8
}

// AgentSelf is the answer of /v1/agent/self.
type AgentSelf struct {
	// Config is the agent's configuration, secrets redacted.
	Config map[string]any `json:"config"`
	// Member is the agent's own gossip member; empty on a client-only agent.
	Member AgentMember `json:"member"`
	// Stats maps a section ("nomad", "raft", "serf", "runtime", "client")
	// to its string-valued statistics.
	Stats map[string]map[string]string `json:"stats"`
}

// AgentHealthResponse is the answer of /v1/agent/health. A part the agent
// does not run is nil.
type AgentHealthResponse struct {
	// Client is the health of the client part.
	Client *AgentHealth `json:"client,omitempty"`
	// Server is the health of the server part.
	Server *AgentHealth `json:"server,omitempty"`
}

// AgentHealth is the health of one part of an agent.
type AgentHealth struct {
	// Ok is whether the part is healthy.
	Ok bool `json:"ok"`
	// Message says why, such as "ok" or "no leader".
	Message string `json:"message"`
}

// ForceLeaveOpts are the options of ForceLeaveWithOptions.
type ForceLeaveOpts struct {
	// Prune removes the member from the member list at once instead of
	// only moving it from failed to left.
	Prune bool
}

// JoinWarningError is returned by Join, together with the number of
// servers joined, when the join succeeded but the agent sent a warning
// (for example that anonymous joins are deprecated).
type JoinWarningError struct {
	// Warning is the agent's warning text.
	Warning string
}

// Error returns the warning text.
func (e *JoinWarningError) Error() string { return e.Warning }

// joinResponse is the body of /v1/agent/join, in snake_case on the wire.
type joinResponse struct {
	NumJoined int    `json:"num_joined"`
	Error     string `json:"error"`
	Warning   string `json:"warning"`
}

// Members lists the servers in the gossip pool (GET /v1/agent/members).
func (a *Agent) Members() (*ServerMembers, error) {
	return a.MembersOpts(nil)
}

// MembersOpts is Members with query options.
func (a *Agent) MembersOpts(q *QueryOptions) (*ServerMembers, error) {
	var resp *ServerMembers
	if _, err := a.client.query("/v1/agent/members", &resp, q); err != nil {
		return nil, err
	}
	if resp != nil && resp.Members == nil {
		resp.Members = []*AgentMember{}
	}
	return resp, nil
}

// Self returns the agent's configuration, member and statistics
// (GET /v1/agent/self).
func (a *Agent) Self() (*AgentSelf, error) {
	var out AgentSelf
	if _, err := a.client.query("/v1/agent/self", &out, nil); err != nil {
		return nil, fmt.Errorf("failed querying self endpoint: %w", err)
	}
	return &out, nil
}

// Servers lists the servers a client agent knows, as "host:port" RPC
// addresses (GET /v1/agent/servers).
func (a *Agent) Servers() ([]string, error) {
	var out []string
	if _, err := a.client.query("/v1/agent/servers", &out, nil); err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// SetServers replaces the server list of a client agent
// (PUT /v1/agent/servers?address=a&address=b).
func (a *Agent) SetServers(addrs []string) error {
	v := url.Values{}
	for _, addr := range addrs {
		v.Add("address", addr)
	}
	_, err := a.client.put("/v1/agent/servers?"+v.Encode(), nil, nil, nil)
	return err
}

// Join asks a server agent to join the gossip pool through addrs
// (PUT /v1/agent/join?address=...) and returns how many it joined. A
// failure the agent reports in the body becomes "failed joining: <error>".
// A warning comes back as a *JoinWarningError alongside the count.
func (a *Agent) Join(addrs ...string) (int, error) {
	v := url.Values{}
	for _, addr := range addrs {
		v.Add("address", addr)
	}
	var resp joinResponse
	if _, err := a.client.put("/v1/agent/join?"+v.Encode(), nil, &resp, nil); err != nil {
		return 0, fmt.Errorf("failed joining: %w", err)
	}
	if resp.Error != "" {
		return 0, fmt.Errorf("failed joining: %s", resp.Error)
	}
	if resp.Warning != "" {
		return resp.NumJoined, &JoinWarningError{Warning: resp.Warning}
	}
	return resp.NumJoined, nil
}

// ForceLeave moves a failed server to the left state
// (PUT /v1/agent/force-leave?node=X).
func (a *Agent) ForceLeave(node string) error {
	return a.ForceLeaveWithOptions(node, ForceLeaveOpts{})
}

// ForceLeaveWithOptions is ForceLeave with options; Prune adds prune=1.
func (a *Agent) ForceLeaveWithOptions(node string, opts ForceLeaveOpts) error {
	v := url.Values{}
	v.Set("node", node)
	if opts.Prune {
		v.Set("prune", "1")
	}
	_, err := a.client.put("/v1/agent/force-leave?"+v.Encode(), nil, nil, nil)
	return err
}

// Health reports the health of the agent's client and server parts
// (GET /v1/agent/health). An unhealthy agent answers 500 with the same
// JSON body; Health decodes it and returns it with no error. Only a body
// that is not JSON is an error.
func (a *Agent) Health() (*AgentHealthResponse, error) {
	r, err := a.client.newRequest(http.MethodGet, "/v1/agent/health")
	if err != nil {
		return nil, err
	}
	_, resp, err := a.client.doRequest(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return nil, fmt.Errorf("reading health response: %w", err)
	}
	var out AgentHealthResponse
	if err := json.Unmarshal(body, &out); err != nil {
		if resp.StatusCode == http.StatusOK {
			return nil, fmt.Errorf("unable to unmarshal response with status %d: %w", resp.StatusCode, err)
		}
		// Not JSON: report it as any other unexpected answer.
		ure := UnexpectedResponseError{
			statusCode: resp.StatusCode,
			statusText: http.StatusText(resp.StatusCode),
			body:       string(bytes.TrimSpace(body)),
		}
		return nil, fmt.Errorf("unable to unmarshal response with status %d: %w", resp.StatusCode, ure)
	}
	return &out, nil
}

// Reload makes the agent read its configuration files again and apply
// what changed (POST /-/reload, agent:write). It returns the settings
// that changed in the files but take effect only at the agent's next
// restart (ports, data dir, roles). A file that does not parse or
// validate is an error, and the agent keeps running as it was.
func (a *Agent) Reload() (restartRequired []string, err error) {
	r, err := a.client.newRequest(http.MethodPost, "/-/reload")
	if err != nil {
		return nil, err
	}
	_, resp, err := requireOK(a.client.doRequest(r))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	for _, s := range strings.Split(resp.Header.Get("X-Nomadlike-Restart-Required"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			restartRequired = append(restartRequired, s)
		}
	}
	return restartRequired, nil
}
