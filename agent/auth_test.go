package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// callWithAuth sends one request with a raw Authorization header ("" for
// none) and returns the status, or an error where the old code's panic
// closed the connection without an answer.
func callWithAuth(r route, method, url, auth string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r.streaming {
		ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
	}
	var body io.Reader
	if method == http.MethodPut || method == http.MethodPost {
		body = bytes.NewReader([]byte("{}"))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, err
	}
	if auth != "" {
		req.Header["Authorization"] = []string{auth}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestAuth_EmptyBearerIsAnonymous: "Authorization: Bearer" with no secret,
// or only spaces, made tokenFromRequest index an empty slice; every route
// panicked (no answer, a stack trace in the log per request). Each route
// and method must answer such a caller exactly as it answers one without
// any header.
func TestAuth_EmptyBearerIsAnonymous(t *testing.T) {
	a := aclAgent(t, nil)
	bootstrap(t, a) // so that walking POST /v1/acl/bootstrap changes nothing
	for _, auth := range []string{"Bearer", "Bearer ", "Bearer    ", "bearer \t "} {
		if got := tokenFromRequest(&http.Request{Header: http.Header{"Authorization": {auth}}}); got != "" {
			t.Fatalf("Authorization %q read as token %q", auth, got)
		}
	}
	for _, r := range a.http.routes {
		url := a.URL() + walkPath(r.pattern, "walk-test")
		for method := range r.needs {
			want, err := callWithAuth(r, method, url, "")
			if err != nil {
				t.Fatalf("%s %s anonymous: %v", method, url, err)
			}
			for _, auth := range []string{"Bearer", "Bearer      "} {
				got, err := callWithAuth(r, method, url, auth)
				if err != nil || got != want {
					t.Errorf("%s %s with Authorization %q: %d %v, want %d as anonymous", method, r.pattern, auth, got, err, want)
				}
			}
		}
	}
}

// TestStatus_LeaderAndPeersAreAnonymous: Nomad answers /v1/status/leader
// and /v1/status/peers without a token (load balancers and health checks
// use them); with ACLs on they were 403.
func TestStatus_LeaderAndPeersAreAnonymous(t *testing.T) {
	a := aclAgent(t, nil)
	for _, token := range []string{"", "8d2c6f3e-0000-4000-8000-00000000dead"} {
		code, body := do(t, http.MethodGet, a.URL()+"/v1/status/leader", token, nil)
		var leader string
		if code != http.StatusOK || json.Unmarshal(body, &leader) != nil || leader == "" {
			t.Fatalf("leader with token %q: %d %s", token, code, body)
		}
		code, body = do(t, http.MethodGet, a.URL()+"/v1/status/peers", token, nil)
		var peers []string
		if code != http.StatusOK || json.Unmarshal(body, &peers) != nil || len(peers) != 1 {
			t.Fatalf("peers with token %q: %d %s", token, code, body)
		}
	}
	// The RPCs behind them need no token either.
	var leader string
	if err := a.RPC("Status.Leader", &structs.GenericRequest{}, &leader); err != nil || leader == "" {
		t.Fatalf("Status.Leader RPC without a token: %q %v", leader, err)
	}
	var peers []string
	if err := a.RPC("Status.Peers", &structs.GenericRequest{}, &peers); err != nil || len(peers) != 1 {
		t.Fatalf("Status.Peers RPC without a token: %v %v", peers, err)
	}
}
