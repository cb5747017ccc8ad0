package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/nomadlike/nomadlike/structs"
)

func TestHTTP_NodeTokenCreate(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	u := a.URL() + "/v1/node/token"

	post := func(token string, body any) (int, []byte, *http.Response) {
		t.Helper()
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(string(buf)))
		req.Header.Set("X-Nomad-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b, resp
	}
	type answer struct {
		NodeID, Name, SecretID string
		Index                  uint64
	}
	decode := func(body []byte) answer {
		t.Helper()
		var out answer
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return out
	}

	code, body, resp := post(mgmt, map[string]string{"Name": "web-1", "Datacenter": "dc1"})
	if code != http.StatusOK {
		t.Fatalf("create: %d %s", code, body)
	}
	first := decode(body)
	if first.NodeID == "" || first.SecretID == "" || first.Name != "web-1" || first.Index == 0 ||
		resp.Header.Get("X-Nomad-Index") != strconv.FormatUint(first.Index, 10) {
		t.Fatalf("create answered %s (index header %q)", body, resp.Header.Get("X-Nomad-Index"))
	}

	// The node reads back without its secret.
	code, body = do(t, http.MethodGet, a.URL()+"/v1/node/"+first.NodeID, mgmt, nil)
	if code != http.StatusOK || strings.Contains(string(body), first.SecretID) || strings.Contains(string(body), "SecretID") {
		t.Fatalf("node read: %d %s", code, body)
	}
	var node structs.Node
	if err := json.Unmarshal(body, &node); err != nil || !node.External || node.Status != structs.NodeStatusReady || node.Name != "web-1" {
		t.Fatalf("node %s", body)
	}
	code, body = do(t, http.MethodGet, a.URL()+"/v1/nodes", mgmt, nil)
	if code != http.StatusOK || strings.Contains(string(body), first.SecretID) || !strings.Contains(string(body), `"External":true`) {
		t.Fatalf("node list: %d %s", code, body)
	}

	// Again: the same node with a new secret.
	code, body, _ = post(mgmt, map[string]string{"Name": "web-1"})
	second := decode(body)
	if code != http.StatusOK || second.NodeID != first.NodeID || second.SecretID == first.SecretID {
		t.Fatalf("rotate: %d %s", code, body)
	}

	// node:write is needed; node:read is not enough.
	reader := tokenWith(t, a, mgmt, "reader", `node { policy = "read" }`).SecretID
	if code, body, _ := post(reader, map[string]string{"Name": "web-2"}); code != http.StatusForbidden {
		t.Fatalf("node:read: %d %s", code, body)
	}
	writer := tokenWith(t, a, mgmt, "writer", `node { policy = "write" }`).SecretID
	if code, body, _ := post(writer, map[string]string{"Name": "web-2"}); code != http.StatusOK {
		t.Fatalf("node:write: %d %s", code, body)
	}

	// A client node's name: 409 with a message that says why.
	client := &structs.Node{ID: uuid.NewString(), SecretID: uuid.NewString(), Name: "client-1", Datacenter: "dc1"}
	reg := &structs.NodeRegisterRequest{Node: client}
	reg.AuthToken = mgmt
	if err := a.RPC("Node.Register", reg, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := post(mgmt, map[string]string{"Name": "client-1"}); code != http.StatusConflict || !strings.Contains(string(body), "client node") {
		t.Fatalf("client node's name: %d %s", code, body)
	}

	// Bad requests.
	if code, body, _ := post(mgmt, map[string]string{"Name": ""}); code != http.StatusBadRequest {
		t.Fatalf("empty name: %d %s", code, body)
	}
	if code, body := do(t, http.MethodPost, u, mgmt, nil); code != http.StatusBadRequest {
		t.Fatalf("no body: %d %s", code, body)
	}
	if code, body := do(t, http.MethodGet, u, mgmt, nil); code != http.StatusMethodNotAllowed && code != http.StatusForbidden {
		t.Fatalf("GET: %d %s", code, body)
	}
}
