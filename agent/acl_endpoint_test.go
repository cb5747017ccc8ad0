package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

// TestACL_PolicyNestingAndSizeBounded: a 200 KB policy of nested brackets
// killed the server (a stack overflow in the HCL parser). Over HTTP the
// body is a 413 before it is decoded; deep nesting in a body that fits is
// a 400 that says why; over RPC, which skips the HTTP layer, the server
// refuses both itself. The server answers afterwards.
func TestACL_PolicyNestingAndSizeBounded(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	nested := func(n int) string {
		return "agent { policy = " + strings.Repeat("[", n) + strings.Repeat("]", n) + " }"
	}
	put := func(rules string) (int, string) {
		buf, _ := json.Marshal(&structs.ACLPolicy{Name: "deep", Rules: rules})
		req, _ := http.NewRequest(http.MethodPut, a.URL()+"/v1/acl/policy/deep", bytes.NewReader(buf))
		req.Header.Set("X-Nomad-Token", mgmt)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("PUT policy of %d bytes: %v", len(buf), err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}

	if code, msg := put(nested(100_000)); code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "request body exceeds") {
		t.Fatalf("200 KB policy: %d %s", code, msg)
	}
	if code, msg := put(nested(10_000)); code != http.StatusBadRequest || !strings.Contains(msg, "nested more than 64 levels deep") {
		t.Fatalf("20 KB nested policy: %d %s", code, msg)
	}

	for _, rules := range []string{nested(100_000), nested(10_000)} {
		args := structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{{Name: "deep", Rules: rules}}}
		args.AuthToken = mgmt
		args.Region = "global"
		var out structs.GenericResponse
		err := a.RPC("ACL.UpsertPolicies", &args, &out)
		var coded *structs.CodedError
		if !errors.As(err, &coded) || coded.Code != http.StatusBadRequest {
			t.Fatalf("RPC with %d bytes of rules: %v, want a 400", len(rules), err)
		}
	}

	if code, msg := put(`agent { policy = "read" }`); code != http.StatusOK {
		t.Fatalf("valid policy after the deep ones: %d %s", code, msg)
	}
}
