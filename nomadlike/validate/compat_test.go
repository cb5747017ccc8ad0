package validate

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// goldenCase is one corpus body and the verdict the hand-written mirror
// gave it (recorded in testdata/compat/golden.json before the mirror was
// replaced by prometheus/config).
type goldenCase struct {
	Name       string `json:"name"`
	Body       string `json:"body"`
	AllowFiles bool   `json:"allow_files,omitempty"`
	Accepted   bool   `json:"accepted"`
	Kind       string `json:"kind,omitempty"`
	OldError   string `json:"old_error,omitempty"`
	Field      string `json:"field,omitempty"`
}

// difference is a verdict that changed on purpose; DESIGN.md lists them.
// A case with a difference must now be refused with an error containing
// field ("" = now accepted).
type difference struct {
	field  string
	reason string
}

const (
	sdOrder    = "service discovery entries count in Prometheus' registry order (sorted by key), as in the agent; the mirror counted static first"
	bearerFold = "Prometheus folds bearer_token_file into authorization.credentials_file while decoding, as the agent does"
	notBuiltIn = "service discovery types not built into nomadlike are unknown keys"
)

var compatDifferences = map[string]difference{
	"filerule/rw bearer_token_file":                 {"failed to validate remote_write at index 0: credentials_file must be empty", bearerFold},
	"filerule/scrape bearer_token_file":             {"failed to validate scrape_config at index 0: credentials_file must be empty", bearerFold},
	"filerule/consul tls ca_file":                   {"service discovery at index 0 within scrape_config at index 0: ca_file must be empty", sdOrder},
	"filerule/marathon auth_token_file":             {"service discovery at index 0 within scrape_config at index 0: auth_token_file must be empty", sdOrder},
	"filerule/http sd password_file":                {"service discovery at index 0 within scrape_config at index 0: password_file must be empty", sdOrder},
	"filerule/http sd header files":                 {"service discovery at index 0 within scrape_config at index 0: http_headers files must be empty", sdOrder},
	"filerule/second sd counted":                    {"service discovery at index 1 within scrape_config at index 0: cert_file must be empty", sdOrder},
	"filerule/kubernetes bearer_token_file":         {"field kubernetes_sd_configs not found", notBuiltIn},
	"filerule/kubernetes kubeconfig_file":           {"field kubernetes_sd_configs not found", notBuiltIn},
	"filerule/unknown sd type":                      {"field nomad_sd_configs not found", notBuiltIn},
	"filerule-allowed/kubernetes bearer_token_file": {"field kubernetes_sd_configs not found", notBuiltIn},
	"filerule-allowed/kubernetes kubeconfig_file":   {"field kubernetes_sd_configs not found", notBuiltIn},
	"filerule-allowed/unknown sd type":              {"field nomad_sd_configs not found", notBuiltIn},
	"seed/m":                                        {"field nomad_sd_configs not found", notBuiltIn},
	"seed-allowed/m":                                {"field nomad_sd_configs not found", notBuiltIn},
	"seed/n":                                        {"field kubernetes_sd_configs not found", notBuiltIn},
	"seed-allowed/n":                                {"field kubernetes_sd_configs not found", notBuiltIn},
	"seed/s":                                        {"must provide a AWS SigV4 Access key and Secret Key", "Prometheus' sigv4 block checks that access_key and secret_key come together"},
	"seed-allowed/s":                                {"must provide a AWS SigV4 Access key and Secret Key", "Prometheus' sigv4 block checks that access_key and secret_key come together"},
	"scrub":                                         {"field ec2_sd_configs not found", notBuiltIn},
	"corpus/agentctl_k8s.yaml":                      {"field kubernetes_sd_configs not found", notBuiltIn},
}

func TestCompatibility_Golden(t *testing.T) {
	b, err := os.ReadFile("testdata/compat/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var corpus []goldenCase
	if err := json.Unmarshal(b, &corpus); err != nil {
		t.Fatal(err)
	}
	if len(corpus) < 100 {
		t.Fatalf("golden corpus has %d cases", len(corpus))
	}
	seen := map[string]bool{}
	for _, gc := range corpus {
		t.Run(gc.Name, func(t *testing.T) {
			c, err := ParseInstanceConfig([]byte(gc.Body), "test", InstanceConfigOptions{DangerousAllowReadingFiles: gc.AllowFiles})
			var ue *UnmarshalError
			var ve *ValidationError
			if err != nil && !errors.As(err, &ue) && !errors.As(err, &ve) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if d, ok := compatDifferences[gc.Name]; ok {
				seen[gc.Name] = true
				if d.field == "" {
					if err != nil {
						t.Fatalf("listed as now accepted (%s), refused: %v", d.reason, err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), d.field) {
					t.Fatalf("listed difference (%s): want an error containing %q, got %v", d.reason, d.field, err)
				}
				return
			}
			if gc.Accepted {
				if err != nil {
					t.Fatalf("accepted by the mirror, refused now: %v", err)
				}
				enc, err := c.Encode()
				if err != nil {
					t.Fatal(err)
				}
				again, err := ParseInstanceConfig(enc, "test", InstanceConfigOptions{DangerousAllowReadingFiles: gc.AllowFiles})
				if err != nil {
					t.Fatalf("encoding does not parse: %v\n%s", err, enc)
				}
				if enc2, _ := again.Encode(); string(enc2) != string(enc) {
					t.Fatalf("encoding is not a fixed point:\n%s\n---\n%s", enc, enc2)
				}
				return
			}
			if err == nil {
				t.Fatalf("refused by the mirror (%s), accepted now", gc.OldError)
			}
			if !strings.Contains(err.Error(), gc.Field) {
				t.Fatalf("error %q does not name %q (mirror said %q)", err, gc.Field, gc.OldError)
			}
		})
	}
	for name := range compatDifferences {
		if !seen[name] {
			t.Errorf("difference %q matches no golden case", name)
		}
	}
}
