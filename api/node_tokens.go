package api

import (
	"errors"
	"net/http"
)

// NodeToken is an agent token bound to a node name: a host that runs some
// other agent pushes host metrics to /api/metrics/ingest with
// "Authorization: Bearer <SecretID>", and appears as the node NodeID.
type NodeToken struct {
	// NodeID is the external node's UUID; it stays the same when the
	// token is created again for the same name.
	NodeID string
	// Name is the node's name.
	Name string
	// SecretID is the token. It is shown only here, and creating a token
	// for the name again replaces it.
	SecretID string
}

// nodeTokenCreate is POST /v1/node/token's body.
type nodeTokenCreate struct {
	Name       string
	Datacenter string `json:",omitempty"`
}

// CreateToken mints an agent token for the node called name (POST
// /v1/node/token; needs node:write). With no node of that name it
// registers an external node; for an external node of that name it
// rotates the token (the old one stops working); a client node's name is
// refused with 409. The node's datacenter is that of the server that
// takes the request; CreateTokenIn names one.
func (n *Nodes) CreateToken(name string, q *WriteOptions) (*NodeToken, *WriteMeta, error) {
	return n.CreateTokenIn(name, "", q)
}

// CreateTokenIn is CreateToken with the node's datacenter ("": the
// server's).
func (n *Nodes) CreateTokenIn(name, datacenter string, q *WriteOptions) (*NodeToken, *WriteMeta, error) {
	if name == "" {
		return nil, nil, errors.New("missing node name")
	}
	var out NodeToken
	wm, err := n.client.write(http.MethodPost, "/v1/node/token", &nodeTokenCreate{Name: name, Datacenter: datacenter}, &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}
