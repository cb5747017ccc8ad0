package api

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestNodes_CreateToken(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"NodeID":"`+nodeID+`","Name":"web-1","SecretID":"s3cr3t","Index":12}`)
	f.headers["X-Nomad-Index"] = "12"
	tok, wm, err := c.Nodes().CreateToken("web-1", nil)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	r := f.expect(t, "POST", "/v1/node/token", nil)
	var body map[string]any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["Name"] != "web-1" || len(body) != 1 {
		t.Fatalf("body %s", r.Body)
	}
	if tok.NodeID != nodeID || tok.Name != "web-1" || tok.SecretID != "s3cr3t" || wm.LastIndex != 12 {
		t.Fatalf("token %+v, meta %+v", tok, wm)
	}

	if _, _, err := c.Nodes().CreateTokenIn("web-1", "dc2", nil); err != nil {
		t.Fatal(err)
	}
	r = f.expect(t, "POST", "/v1/node/token", nil)
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["Datacenter"] != "dc2" {
		t.Fatalf("body %s", r.Body)
	}

	if _, _, err := c.Nodes().CreateToken("", nil); err == nil {
		t.Fatal("empty name accepted")
	}

	f.status, f.body = 409, `node name "web-1" belongs to a client node`
	_, _, err = c.Nodes().CreateToken("web-1", nil)
	var ue UnexpectedResponseError
	if !errors.As(err, &ue) || ue.StatusCode() != 409 {
		t.Fatalf("409: %v", err)
	}
}
