package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// do sends one request with an optional token and JSON body.
func do(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	return doCtx(t, context.Background(), method, url, token, body)
}

// doCtx is do bounded by ctx; the body read so far is returned when ctx
// ends first (a stream).
func doCtx(t *testing.T, ctx context.Context, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		buf, _ := json.Marshal(body)
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// walkCall calls one route as the route walks do: streaming routes are cut
// off after a moment, since they answer until the client leaves.
func walkCall(t *testing.T, r route, method, url, token string, body any) (int, []byte) {
	t.Helper()
	if !r.streaming {
		return do(t, method, url, token, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	return doCtx(t, ctx, method, url, token, body)
}

// walkPath is a route's pattern with its wildcards filled in.
func walkPath(pattern, value string) string {
	return strings.NewReplacer("{id}", value, "{name}", value, "{accessor}", value).Replace(pattern)
}

// denial is how a family answers a refused caller: status, Connect code
// (pipeline family only) and message.
type denial struct {
	status int
	code   string
	msg    string
}

// denialFor is the answer a route of family f gives a refused caller:
// without a token, with an unknown one, or with one lacking the capability.
func denialFor(f family, caller string) denial {
	msg := "Permission denied"
	if caller == "unknown token" {
		msg = "ACL token not found"
	}
	if f == familyPipeline {
		if caller == "no token" || caller == "unknown token" {
			return denial{http.StatusUnauthorized, "unauthenticated", msg}
		}
		return denial{http.StatusForbidden, "permission_denied", msg}
	}
	if f == familyAssistant {
		// Spec 002: a missing or unknown token is 401.
		switch caller {
		case "no token":
			return denial{http.StatusUnauthorized, "", "Missing authentication token: send Authorization: Bearer <token>"}
		case "unknown token":
			return denial{http.StatusUnauthorized, "", "Invalid authentication token"}
		}
	}
	return denial{http.StatusForbidden, "", msg}
}

// errorOf reads an error answer in family f's format.
func errorOf(f family, status int, body []byte) denial {
	switch f {
	case familyConfig:
		var env struct {
			Status string `json:"status"`
			Data   struct {
				Error string `json:"error"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &env) != nil || env.Status != "error" {
			return denial{status, "", "not an error envelope: " + string(body)}
		}
		return denial{status, "", env.Data.Error}
	case familyAssistant:
		var ae struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &ae) != nil || ae.Status != "error" {
			return denial{status, "", "not an assistant error: " + string(body)}
		}
		return denial{status, "", ae.Message}
	case familyPipeline:
		var ce struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &ce) != nil {
			return denial{status, "", "not a Connect error: " + string(body)}
		}
		return denial{status, ce.Code, ce.Message}
	case familyPrometheus:
		var pe struct {
			Status    string `json:"status"`
			ErrorType string `json:"errorType"`
			Error     string `json:"error"`
		}
		if json.Unmarshal(body, &pe) != nil || pe.Status != "error" || pe.ErrorType == "" {
			return denial{status, "", "not a Prometheus error: " + string(body)}
		}
		return denial{status, "", pe.Error}
	}
	return denial{status, "", string(body)}
}

func aclAgent(t *testing.T, cb func(*Config)) *Agent {
	a := TestAgent(t, func(c *Config) {
		c.ACL.Enabled = ptr(true)
		c.Client.Enabled = ptr(false)
		if cb != nil {
			cb(c)
		}
	})
	WaitForAgentLeader(t, a)
	return a
}

func bootstrap(t *testing.T, a *Agent) string {
	t.Helper()
	code, body := do(t, http.MethodPost, a.URL()+"/v1/acl/bootstrap", "", nil)
	var tok structs.ACLToken
	if code != 200 || json.Unmarshal(body, &tok) != nil || tok.SecretID == "" || tok.Type != "management" {
		t.Fatalf("bootstrap: %d %s", code, body)
	}
	return tok.SecretID
}

// tokenWith creates a policy with rules and a client token carrying it.
func tokenWith(t *testing.T, a *Agent, mgmt, name, rules string) *structs.ACLToken {
	t.Helper()
	code, body := do(t, http.MethodPut, a.URL()+"/v1/acl/policy/"+name, mgmt, &structs.ACLPolicy{Name: name, Rules: rules})
	if code != 200 {
		t.Fatalf("policy %s: %d %s", name, code, body)
	}
	code, body = do(t, http.MethodPut, a.URL()+"/v1/acl/token", mgmt, &structs.ACLToken{Name: name, Type: "client", Policies: []string{name}})
	var tok structs.ACLToken
	if code != 200 || json.Unmarshal(body, &tok) != nil || tok.SecretID == "" {
		t.Fatalf("token %s: %d %s", name, code, body)
	}
	return &tok
}

// TestACL_EveryRouteDeclaresAndEnforces walks every route registered with
// the router, every method it serves, and five callers, and checks the
// status against what the route declares.
func TestACL_EveryRouteDeclaresAndEnforces(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)

	// tokens holds a client token per set of resources and level, made
	// on first use.
	tokens := map[string]string{}
	tokenFor := func(level string, resources ...string) string {
		key := strings.Join(resources, "-") + "-" + level
		if secret, ok := tokens[key]; ok {
			return secret
		}
		var rules []string
		for _, res := range resources {
			rules = append(rules, fmt.Sprintf("%s { policy = %q }", res, level))
		}
		tokens[key] = tokenWith(t, a, mgmt, key, strings.Join(rules, "\n")).SecretID
		return tokens[key]
	}

	routes := a.http.routes
	if len(routes) < 19 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, r := range routes {
		if len(r.needs) == 0 {
			t.Errorf("route %s declares no method and no capability", r.pattern)
		}
		if r.family == familyIngest {
			// Authenticated by a node's secret, not by the ACL layer
			// (TestHostMetricsIngest_Refusals).
			if len(r.needs) != 1 || r.needs[http.MethodPost].kind != needNone {
				t.Errorf("route %s: want POST with no ACL capability", r.pattern)
			}
			continue
		}
		path := walkPath(r.pattern, "walk-test")
		for method, n := range r.needs {
			resources := []string{"agent"}
			level := "read"
			if n.kind == needCapability {
				resources = nil
				for _, c := range n.caps() {
					if !c.Valid() {
						t.Errorf("%s %s declares invalid capability %v", method, r.pattern, c)
					}
					resources = append(resources, c.Resource)
					if c.Level == "write" {
						level = "write"
					}
				}
			}
			type caller struct {
				name, secret string
				allowed      bool
			}
			callers := []caller{
				{"no token", "", n.kind == needNone},
				{"unknown token", "8d2c6f3e-0000-4000-8000-00000000dead", n.kind == needNone},
				{"read", tokenFor("read", resources...), n.kind == needNone || n.kind == needToken ||
					(n.kind == needCapability && level == "read")},
				{"write", tokenFor("write", resources...), n.kind != needManagement},
				{"management", mgmt, true},
			}
			if len(resources) > 1 {
				// Holding only one of several capabilities is not enough.
				callers = append(callers, caller{"partial", tokenFor("write", resources[0]), false})
			}
			for _, c := range callers {
				var body any
				if method == http.MethodPut || method == http.MethodPost {
					body = map[string]any{}
				}
				code, out := walkCall(t, r, method, a.URL()+path, c.secret, body)
				want := denialFor(r.family, c.name)
				switch got := errorOf(r.family, code, out); {
				case c.allowed && (code == http.StatusForbidden || code == http.StatusUnauthorized):
					t.Errorf("%s %s (%s) with %s token: %d %s, want allowed", method, path, n, c.name, code, out)
				case !c.allowed && got != want:
					t.Errorf("%s %s (%s) with %s token: %d %q, want %+v", method, path, n, c.name, code, out, want)
				}
			}
		}
	}
}

// With ACLs off, nothing is refused for lack of a token (enable_debug opens
// the debug endpoints, which ACLs off alone do not).
func TestACL_DisabledAllowsEverything(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false); c.EnableDebug = ptr(true) })
	WaitForAgentLeader(t, a)
	for _, r := range a.http.routes {
		if r.family == familyIngest {
			// Its token is a node's secret, checked whether ACLs are
			// on or off; an unknown one is a 401 by design
			// (TestHostMetricsIngest_Refusals).
			continue
		}
		path := walkPath(r.pattern, "x")
		for method := range r.needs {
			var body any
			if method == http.MethodPut || method == http.MethodPost {
				body = map[string]any{}
			}
			code, out := walkCall(t, r, method, a.URL()+path, "8d2c6f3e-0000-4000-8000-00000000dead", body)
			if code == http.StatusForbidden || code == http.StatusUnauthorized {
				t.Errorf("%s %s with ACLs off: 403 %s", method, path, out)
			}
			if strings.HasPrefix(r.pattern, "/v1/acl/") && (code != 400 || string(out) != "ACL support disabled") {
				t.Errorf("%s %s with ACLs off: %d %s, want 400 ACL support disabled", method, path, code, out)
			}
		}
	}
}

func TestACL_TokenLifecycle(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	u := a.URL()

	// A second bootstrap is refused with the reset index.
	code, body := do(t, http.MethodPut, u+"/v1/acl/bootstrap", "", nil)
	if code != 400 || !strings.HasPrefix(string(body), "ACL bootstrap already done (reset index: ") {
		t.Fatalf("second bootstrap: %d %s", code, body)
	}

	// Policies are validated.
	code, body = do(t, http.MethodPut, u+"/v1/acl/policy/bad", mgmt, &structs.ACLPolicy{Rules: `agent { policy = "admin" }`})
	if code != 400 || !strings.Contains(string(body), "admin") {
		t.Fatalf("bad policy: %d %s", code, body)
	}
	code, body = do(t, http.MethodPut, u+"/v1/acl/token", mgmt, &structs.ACLToken{Type: "client"})
	if code != 400 {
		t.Fatalf("client token without policies: %d %s", code, body)
	}

	ops := tokenWith(t, a, mgmt, "ops", `node { policy = "read" }`)
	if code, _ := do(t, http.MethodGet, u+"/v1/nodes", ops.SecretID, nil); code != 200 {
		t.Fatalf("node:read token on /v1/nodes: %d", code)
	}
	code, body = do(t, http.MethodGet, u+"/v1/acl/token/self", ops.SecretID, nil)
	var self structs.ACLToken
	if code != 200 || json.Unmarshal(body, &self) != nil || self.AccessorID != ops.AccessorID {
		t.Fatalf("token self: %d %s", code, body)
	}

	// Token listing never shows secrets.
	code, body = do(t, http.MethodGet, u+"/v1/acl/tokens", mgmt, nil)
	if code != 200 || strings.Contains(string(body), ops.SecretID) || strings.Contains(string(body), mgmt) {
		t.Fatalf("token list: %d %s", code, body)
	}

	// Updating a policy changes what its tokens may do at once.
	do(t, http.MethodPut, u+"/v1/acl/policy/ops", mgmt, &structs.ACLPolicy{Rules: `node { policy = "deny" }`})
	if code, body := do(t, http.MethodGet, u+"/v1/nodes", ops.SecretID, nil); code != 403 || string(body) != "Permission denied" {
		t.Fatalf("after policy change: %d %s", code, body)
	}

	// Deleted tokens are unknown.
	if code, body := do(t, http.MethodDelete, u+"/v1/acl/token/"+ops.AccessorID, mgmt, nil); code != 200 {
		t.Fatalf("delete token: %d %s", code, body)
	}
	if code, body := do(t, http.MethodGet, u+"/v1/acl/token/self", ops.SecretID, nil); code != 403 || string(body) != "ACL token not found" {
		t.Fatalf("deleted token: %d %s", code, body)
	}

	// Expiring tokens stop working.
	code, body = do(t, http.MethodPut, u+"/v1/acl/token", mgmt, &structs.ACLToken{Type: "management", ExpirationTTL: 300 * time.Millisecond})
	var short structs.ACLToken
	if code != 200 || json.Unmarshal(body, &short) != nil || short.ExpirationTime == nil {
		t.Fatalf("expiring token: %d %s", code, body)
	}
	if code, _ := do(t, http.MethodGet, u+"/v1/nodes", short.SecretID, nil); code != 200 {
		t.Fatalf("fresh expiring token refused: %d", code)
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		if code, body := do(t, http.MethodGet, u+"/v1/nodes", short.SecretID, nil); code != 403 || string(body) != "ACL token not found" {
			return fmt.Errorf("expired token: %d %s", code, body)
		}
		return nil
	})

	// The anonymous policy applies to requests without a token.
	if code, _ := do(t, http.MethodGet, u+"/v1/nodes", "", nil); code != 403 {
		t.Fatalf("anonymous without policy: %d", code)
	}
	do(t, http.MethodPut, u+"/v1/acl/policy/anonymous", mgmt, &structs.ACLPolicy{Rules: `node { policy = "read" }`})
	if code, _ := do(t, http.MethodGet, u+"/v1/nodes", "", nil); code != 200 {
		t.Fatalf("anonymous with node:read policy: %d", code)
	}

	// Bearer and basic auth carry the token too.
	for _, set := range []func(*http.Request){
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+mgmt) },
		func(r *http.Request) { r.SetBasicAuth("fleet", mgmt) },
	} {
		req, _ := http.NewRequest(http.MethodGet, u+"/v1/acl/tokens", nil)
		set(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("token via %s: %d", req.Header.Get("Authorization")[:6], resp.StatusCode)
		}
	}
}

// TestACL_RateLimitPerToken: a token that resolves has its own bucket;
// callers without one, and callers with secrets nobody knows, share the
// bucket of their address. Buckets used to be keyed by whatever string
// was sent, so each guessed secret got a fresh bucket and a guesser was
// never limited.
func TestACL_RateLimitPerToken(t *testing.T) {
	a := aclAgent(t, func(c *Config) {
		c.RateLimits = []*RateLimitConfig{{Family: "config", RequestsPerSecond: ptr(0.5), Burst: ptr(2)}}
	})
	mgmt := bootstrap(t, a)
	other := tokenWith(t, a, mgmt, "reader", `config { policy = "read" }`).SecretID
	u := a.URL() + "/agent/api/v1/configs"
	get := func(header, token string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set(header, token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for i, want := range []int{200, 200, 429} {
		resp := get("X-Nomad-Token", mgmt)
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i, resp.StatusCode, want)
		}
		if resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != fmt.Sprint(max(0, 1-i)) ||
			resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request %d headers: %v", i, resp.Header)
		}
		if want == 429 && (resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/json") {
			t.Fatalf("429 headers: %v", resp.Header)
		}
	}
	// The same token in another header is the same caller.
	if resp := get("Authorization", "Bearer "+mgmt); resp.StatusCode != 429 {
		t.Fatalf("management token as a bearer: %d, want 429", resp.StatusCode)
	}
	// Another real token has its own bucket.
	if resp := get("X-Nomad-Token", other); resp.StatusCode != 200 {
		t.Fatalf("other token limited: %d", resp.StatusCode)
	}
	// N different guessed secrets from one address spend one bucket:
	// two are answered (403), the rest are 429, and so is a caller
	// with no token at all from that address.
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		codes[get("X-Nomad-Token", uuid.NewString()).StatusCode]++
	}
	if codes[http.StatusForbidden] != 2 || codes[http.StatusTooManyRequests] != 18 {
		t.Fatalf("20 guessed secrets from one address: %v, want 2 x 403 and 18 x 429", codes)
	}
	if resp := get("", ""); resp.StatusCode != 429 {
		t.Fatalf("anonymous after guessed secrets: %d, want 429", resp.StatusCode)
	}
}
