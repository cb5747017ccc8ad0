package validate

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/discovery/file"
	yaml "go.yaml.in/yaml/v2"
)

// minimalConfig is a small valid instance config body.
const minimalConfig = `
scrape_configs:
- job_name: node
  static_configs:
  - targets: [localhost:9100]
remote_write:
- url: http://localhost:9009/api/prom/push
`

// tableCase is one body of the table tests and a substring of its error.
type tableCase struct {
	name string
	body string
	want string
}

// mustParse parses body as config "test" or fails the test.
func mustParse(t *testing.T, body string, opts InstanceConfigOptions) *InstanceConfig {
	t.Helper()
	c, err := ParseInstanceConfig([]byte(body), "test", opts)
	if err != nil {
		t.Fatalf("ParseInstanceConfig: %v\n%s", err, body)
	}
	return c
}

// mustEncode encodes c or fails the test.
func mustEncode(t *testing.T, c *InstanceConfig) string {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return string(b)
}

func TestParseInstanceConfig_Normalized(t *testing.T) {
	c := mustParse(t, "name: from-body\n"+minimalConfig, InstanceConfigOptions{})
	want := `name: test
scrape_configs:
- job_name: node
  honor_timestamps: true
  track_timestamps_staleness: false
  metrics_path: /metrics
  scheme: http
  enable_compression: true
  follow_redirects: true
  enable_http2: true
  static_configs:
  - targets:
    - localhost:9100
remote_write:
- url: http://localhost:9009/api/prom/push
  remote_timeout: 30s
  send_exemplars: true
  protobuf_message: prometheus.WriteRequest
  follow_redirects: true
  enable_http2: false
  queue_config:
    capacity: 10000
    max_shards: 50
    min_shards: 1
    max_samples_per_send: 2000
    batch_send_deadline: 5s
    min_backoff: 30ms
    max_backoff: 5s
    retry_on_http_429: true
  metadata_config:
    send: true
    send_interval: 1m
    max_samples_per_send: 2000
wal_truncate_frequency: 1h0m0s
min_wal_time: 5m0s
max_wal_time: 4h0m0s
remote_flush_deadline: 1m0s
`
	if got := mustEncode(t, c); got != want {
		t.Fatalf("Encode:\n%s\nwant:\n%s", got, want)
	}

	// Encoding is a fixed point: parsing the output gives the same output.
	again := mustParse(t, want, InstanceConfigOptions{})
	if got := mustEncode(t, again); got != want {
		t.Fatalf("re-encode differs:\n%s", got)
	}

	// MarshalYAML makes an embedded config print the same way.
	wrapped, err := yaml.Marshal(map[string]*InstanceConfig{"c": c})
	if err != nil || !strings.Contains(string(wrapped), "  wal_truncate_frequency: 1h0m0s") {
		t.Fatalf("MarshalYAML: %v\n%s", err, wrapped)
	}
}

// explicitZeroConfig sets to zero or false fields whose defaults are not.
const explicitZeroConfig = `
min_wal_time: 0s
max_wal_time: 0s
scrape_configs:
- job_name: a
  honor_timestamps: false
  enable_compression: false
  follow_redirects: false
  enable_http2: false
  relabel_configs:
  - {source_labels: [a], regex: "", target_label: b}
  file_sd_configs: [{files: [a.json], refresh_interval: 0s}]
remote_write:
- url: http://a
  remote_timeout: 0s
  send_exemplars: false
  queue_config: {min_backoff: 0s, max_backoff: 0s, batch_send_deadline: 0s, retry_on_http_429: false}
  metadata_config: {send: false, send_interval: 0s, max_samples_per_send: 0}
`

func TestParseInstanceConfig_ExplicitZeroesSurvive(t *testing.T) {
	c := mustParse(t, explicitZeroConfig, InstanceConfigOptions{})
	enc := mustEncode(t, c)
	again := mustParse(t, enc, InstanceConfigOptions{})
	if got := mustEncode(t, again); got != enc {
		t.Fatalf("re-encode differs:\n%s\n---\n%s", enc, got)
	}
	rw, sc := again.RemoteWrite[0], again.ScrapeConfigs[0]
	switch {
	case again.MinWALTime != 0 || again.MaxWALTime != 0:
		t.Fatal("WAL times reset to defaults")
	case rw.SendExemplars || rw.QueueConfig.RetryOnRateLimit || rw.QueueConfig.MinBackoff != 0 || rw.RemoteTimeout != 0:
		t.Fatalf("remote_write zeroes reset to defaults: %+v", rw)
	case rw.MetadataConfig.Send || rw.MetadataConfig.MaxSamplesPerSend != 0:
		t.Fatalf("metadata_config zeroes reset: %+v", rw.MetadataConfig)
	case sc.HonorTimestamps || sc.EnableCompression || sc.HTTPClientConfig.FollowRedirects:
		t.Fatalf("scrape zeroes reset: %+v", sc)
	case sc.RelabelConfigs[0].Regex.String() != "":
		t.Fatal("explicit empty regex lost")
	case sc.ServiceDiscoveryConfigs[0].(*file.SDConfig).RefreshInterval != 0:
		t.Fatal("file_sd refresh_interval reset")
	}
}

func TestParseInstanceConfig_BodyNameIgnored(t *testing.T) {
	c, err := ParseInstanceConfig([]byte("name: other\n"), "hello/world", InstanceConfigOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "hello/world" {
		t.Fatalf("Name = %q, want the URL name", c.Name)
	}
}

func TestParseInstanceConfig_Defaults(t *testing.T) {
	c := mustParse(t, "host_filter: true\n", InstanceConfigOptions{})
	if c.WALTruncateFrequency != time.Hour || c.MinWALTime != 5*time.Minute ||
		c.MaxWALTime != 4*time.Hour || c.RemoteFlushDeadline != time.Minute {
		t.Fatalf("durations not defaulted: %+v", c)
	}
	c = mustParse(t, "wal_truncate_frequency: 2h\nmin_wal_time: 1m\n", InstanceConfigOptions{})
	if c.WALTruncateFrequency != 2*time.Hour || c.MinWALTime != time.Minute || c.MaxWALTime != 4*time.Hour {
		t.Fatalf("explicit durations: %+v", c)
	}

	c = mustParse(t, minimalConfig, InstanceConfigOptions{})
	sc, rw := c.ScrapeConfigs[0], c.RemoteWrite[0]
	if sc.MetricsPath != "/metrics" || sc.Scheme != "http" || !sc.HonorTimestamps ||
		!sc.HTTPClientConfig.FollowRedirects || !sc.HTTPClientConfig.EnableHTTP2 {
		t.Fatalf("scrape defaults: %+v", sc)
	}
	if sc.ScrapeInterval != 0 || sc.ScrapeTimeout != 0 {
		t.Fatal("scrape_interval and scrape_timeout must stay unset: the agent's globals apply")
	}
	if !rw.SendExemplars || !rw.QueueConfig.RetryOnRateLimit || rw.QueueConfig.MaxShards != 50 ||
		!rw.MetadataConfig.Send || rw.Name != "" {
		t.Fatalf("remote_write defaults: %+v", rw)
	}

	c = mustParse(t, `
scrape_configs:
- job_name: a
  relabel_configs:
  - source_labels: [__address__]
    target_label: instance
`, InstanceConfigOptions{})
	rc := c.ScrapeConfigs[0].RelabelConfigs[0]
	if rc.Separator != ";" || rc.Replacement != "$1" || rc.Action != "replace" || rc.Regex.String() != "(.*)" {
		t.Fatalf("relabel defaults: %+v", rc)
	}
}

var unmarshalCases = []tableCase{
	{"empty body", "", "EOF"},
	{"not a mapping", "[1]", "cannot unmarshal !!seq into"},
	{"unknown top-level key", "foo: 1\n", "field foo not found in metrics_instance_config"},
	{"unknown scrape key", "scrape_configs:\n- job_name: a\n  bogus_key: 1\n", "field bogus_key not found in scrape_config"},
	{"unknown remote_write key", "remote_write:\n- url: http://x\n  bogus_key: 1\n", "field bogus_key not found in section"},
	{"unknown tls key", "scrape_configs:\n- job_name: a\n  tls_config: {bogus_key: 1}\n", "field bogus_key not found in section"},
	{"unknown queue key", "remote_write:\n- url: http://x\n  queue_config: {bogus_key: 1}\n", "field bogus_key not found in queue_config"},
	{"unknown relabel key", "host_filter_relabel_configs:\n- bogus_key: 1\n", "field bogus_key not found in relabel_config"},
	{"unknown static key", "scrape_configs:\n- job_name: a\n  static_configs: [{bogus_key: 1}]\n", "field bogus_key not found in static_config"},
	{"unknown sd type", "scrape_configs:\n- job_name: a\n  bogus_sd_configs: [{}]\n", "field bogus_sd_configs not found in scrape_config"},
	{"duplicate key", "host_filter: true\nhost_filter: false\n", "host_filter already set"},
	{"duplicate nested key", "scrape_configs:\n- job_name: a\n  job_name: b\n", "job_name already set in scrape_config"},
	{"duplicate sd body key", "scrape_configs:\n- job_name: a\n  consul_sd_configs: [{server: a, server: b}]\n", "field server already set in consul_sd_config"},
	{"bad wal duration", "wal_truncate_frequency: 5x\n", "cannot unmarshal !!str `5x` into time.Duration"},
	{"bad prometheus duration", "scrape_configs:\n- job_name: a\n  scrape_interval: 5x\n", `unknown unit "x" in duration "5x"`},
	{"empty job name", "scrape_configs:\n- metrics_path: /x\n", "job_name is empty"},
	{"missing url", "remote_write:\n- name: a\n", "url for remote_write is empty"},
	{"reserved header", "remote_write:\n- url: http://x\n  headers: {Content-Type: x}\n", "Content-Type is a reserved header"},
	{"two auth methods", "remote_write:\n- url: http://x\n  basic_auth: {username: a}\n  sigv4: {region: b}\n", "at most one of basic_auth, authorization, oauth2, sigv4, azuread or google_iam"},
	{"bearer and basic", "scrape_configs:\n- job_name: a\n  bearer_token: t\n  basic_auth: {username: u}\n", "at most one of basic_auth, oauth2, bearer_token & bearer_token_file"},
	{"basic authorization type", "scrape_configs:\n- job_name: a\n  authorization: {type: Basic}\n", `authorization type cannot be set to "basic"`},
	{"oauth2 without client_id", "scrape_configs:\n- job_name: a\n  oauth2: {token_url: http://t}\n", "oauth2 client_id must be configured"},
	{"cert without key", "scrape_configs:\n- job_name: a\n  tls_config: {cert: c}\n", "exactly one of key or key_file"},
	{"bad tls version", "scrape_configs:\n- job_name: a\n  tls_config: {min_version: TLS9}\n", "unknown TLS version"},
	{"bad scheme", "scrape_configs:\n- job_name: a\n  scheme: ftp\n", "scheme must be http or https"},
	{"bad scrape protocol", "scrape_configs:\n- job_name: a\n  scrape_protocols: [Nope]\n", "unknown scrape protocol"},
	{"bad body size", "scrape_configs:\n- job_name: a\n  body_size_limit: lots\n", "units: invalid lots"},
	{"url as static target", "scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['http://x/metrics']}]\n", "is not a valid hostname"},
	{"null sd entry", "scrape_configs:\n- job_name: a\n  consul_sd_configs: [~]\n", "empty or null section in consul_sd_configs"},
	{"bad file sd path", "scrape_configs:\n- job_name: a\n  file_sd_configs: [{files: [targets.txt]}]\n", "not valid for file discovery"},
	{"bad relabel action", "host_filter_relabel_configs:\n- action: explode\n", `unknown relabel action "explode"`},
	{"bad relabel regex", "host_filter_relabel_configs:\n- {action: keep, regex: '('}\n", "error parsing regexp: missing closing )"},
	{"hashmod without modulus", "host_filter_relabel_configs:\n- {action: hashmod, target_label: x}\n", "requires non-zero modulus"},
	{"replace without target", "host_filter_relabel_configs:\n- {source_labels: [a]}\n", "requires 'target_label' value"},
	{"labeldrop with source", "host_filter_relabel_configs:\n- {action: labeldrop, source_labels: [a]}\n", "requires only 'regex'"},
	{"queue shards", "remote_write:\n- url: http://x\n  queue_config: {min_shards: 5, max_shards: 2}\n", "min_shards must not be greater than max_shards"},
}

func TestParseInstanceConfig_UnmarshalErrors(t *testing.T) {
	cases := unmarshalCases
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInstanceConfig([]byte(tc.body), "test", InstanceConfigOptions{})
			// Prometheus checks some of these while decoding and some in
			// Validate; either kind is a refusal.
			var ue *UnmarshalError
			var ve *ValidationError
			if !errors.As(err, &ue) && !errors.As(err, &ve) {
				t.Fatalf("got %T %v, want *UnmarshalError or *ValidationError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

var validationCases = []tableCase{
	{"zero truncate frequency", "wal_truncate_frequency: 0s\n", "wal_truncate_frequency must be greater than 0s"},
	{"zero flush deadline", "remote_flush_deadline: 0s\n", "remote_flush_deadline must be greater than 0s"},
	{"min above max", "min_wal_time: 5h\n", "min_wal_time must be less than max_wal_time"},
	{"timeout above interval", "scrape_configs:\n- {job_name: a, scrape_interval: 10s, scrape_timeout: 20s}\n",
		`scrape timeout greater than scrape interval for scrape config with job name "a"`},
	{"timeout above default interval", "scrape_configs:\n- {job_name: a, scrape_timeout: 2m}\n",
		`scrape timeout greater than scrape interval for scrape config with job name "a"`},
	{"interval above truncate frequency", "wal_truncate_frequency: 30s\nscrape_configs:\n- {job_name: a}\n",
		`scrape interval greater than wal_truncate_frequency for scrape config with job name "a"`},
	{"duplicate job", "scrape_configs:\n- {job_name: a}\n- {job_name: a}\n", `found multiple scrape configs with job name "a"`},
	{"null scrape config", "scrape_configs:\n- ~\n", "empty or null scrape config section"},
	{"null remote write", "remote_write:\n- ~\n", "empty or null remote write config section"},
	{"relative url", "remote_write:\n- url: /api/prom/push\n", `remote_write at index 0: url "/api/prom/push" must be an absolute http or https URL`},
	{"non-http url", "remote_write:\n- url: http://a\n- url: ftp://example.com/x\n", "remote_write at index 1: url"},
	{"url without host", "remote_write:\n- url: 'http:///x'\n", "must be an absolute http or https URL"},
	{"identical remote writes", "remote_write:\n- url: http://a\n- url: http://a\n", "found two identical remote_write configs"},
	{"duplicate remote write name", "remote_write:\n- {url: http://a, name: x}\n- {url: http://b, name: x}\n", `found duplicate remote write configs with name "x"`},
}

func TestParseInstanceConfig_ValidationErrors(t *testing.T) {
	cases := validationCases
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInstanceConfig([]byte(tc.body), "test", InstanceConfigOptions{})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %T %v, want *ValidationError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}

	_, err := ParseInstanceConfig([]byte(minimalConfig), "", InstanceConfigOptions{})
	if err == nil || !strings.Contains(err.Error(), "config name must not be empty") {
		t.Fatalf("empty name: %v", err)
	}
}

// rw, sc and sd wrap a block in a remote_write, a scrape config, or a
// scrape config whose first service discovery is static.
func rw(block string) string { return "remote_write:\n- url: http://x\n" + indent(block, "  ") }
func sc(block string) string { return "scrape_configs:\n- job_name: a\n" + indent(block, "  ") }
func sd(block string) string {
	return "scrape_configs:\n- job_name: a\n  static_configs: [{targets: [a]}]\n" + indent(block, "  ")
}

const rwAt, scAt = "failed to validate remote_write at index 0: ", "failed to validate scrape_config at index 0: "

// The static entry sorts last: the entry under test is at index 0.
const sdAt = "failed to validate service discovery at index 0 within scrape_config at index 0: "
const suffix = " must be empty unless dangerous_allow_reading_files is set"

var fileRuleCases = []tableCase{
	// Prometheus folds bearer_token_file into authorization, as the agent did.
	{"rw bearer_token_file", rw("bearer_token_file: /t"), rwAt + "credentials_file" + suffix},
	{"rw password_file", rw("basic_auth: {username: u, password_file: /p}"), rwAt + "password_file" + suffix},
	{"rw credentials_file", rw("authorization: {credentials_file: /c}"), rwAt + "credentials_file" + suffix},
	{"rw ca_file", rw("tls_config: {ca_file: /ca}"), rwAt + "ca_file" + suffix},
	{"rw cert_file", rw("tls_config: {cert_file: /c, key: k}"), rwAt + "cert_file" + suffix},
	{"rw key_file", rw("tls_config: {cert: c, key_file: /k}"), rwAt + "key_file" + suffix},
	{"rw username_file", rw("basic_auth: {username_file: /u}"), rwAt + "username_file" + suffix},
	{"rw oauth2 client_secret_file", rw("oauth2: {client_id: a, token_url: 'http://t', client_secret_file: /s}"), rwAt + "client_secret_file" + suffix},
	{"rw oauth2 tls ca_file", rw("oauth2: {client_id: a, token_url: 'http://t', tls_config: {ca_file: /ca}}"), rwAt + "oauth2 ca_file" + suffix},
	{"rw http header files", rw("http_headers: {X-A: {files: [/f]}}"), rwAt + `http_headers "X-A" files` + suffix},
	{"rw google_iam credentials_file", rw("google_iam: {credentials_file: /g}"), rwAt + "credentials_file" + suffix},
	{"scrape bearer_token_file", sc("bearer_token_file: /t"), scAt + "credentials_file" + suffix},
	{"scrape password_file", sc("basic_auth: {username: u, password_file: /etc/password}"), scAt + "password_file" + suffix},
	{"scrape credentials_file", sc("authorization: {credentials_file: /c}"), scAt + "credentials_file" + suffix},
	{"scrape ca_file", sc("tls_config: {ca_file: /ca}"), scAt + "ca_file" + suffix},
	{"scrape cert_file", sc("tls_config: {cert_file: /c, key_file: /k}"), scAt + "cert_file" + suffix},
	{"scrape failure log", sc("scrape_failure_log_file: /tmp/x"), scAt + "scrape_failure_log_file" + suffix},
	{"consul tls ca_file", sd("consul_sd_configs: [{server: s, tls_config: {ca_file: /ca}}]"), sdAt + "ca_file" + suffix},
	{"http sd bearer_token_file", sd("http_sd_configs: [{url: 'http://x', bearer_token_file: /t}]"), sdAt + "credentials_file" + suffix},
	{"consul key_file", sd("consul_sd_configs: [{server: s, tls_config: {cert: c, key_file: /k}}]"), sdAt + "key_file" + suffix},
	{"marathon auth_token_file", sd("marathon_sd_configs: [{servers: [s], auth_token_file: /t}]"), sdAt + "auth_token_file" + suffix},
	{"http sd password_file", sd("http_sd_configs: [{url: 'http://x', basic_auth: {password_file: /p}}]"), sdAt + "password_file" + suffix},
	{"http sd header files", sd("http_sd_configs: [{url: 'http://x', http_headers: {X-A: {files: [/f]}}}]"), sdAt + "http_headers files" + suffix},
	// Entries count in Prometheus' registry order (sorted by key):
	// consul before static.
	{"second sd counted", sd("consul_sd_configs: [{server: a}, {server: b, tls_config: {key_file: /k, cert_file: /c}}]"),
		"failed to validate service discovery at index 1 within scrape_config at index 0: cert_file" + suffix},
}

func TestParseInstanceConfig_FileRule(t *testing.T) {
	cases := fileRuleCases
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseInstanceConfig([]byte(tc.body), "test", InstanceConfigOptions{})
			var ve *ValidationError
			if !errors.As(err, &ve) || err.Error() != tc.want {
				t.Fatalf("got %T %v\nwant %q", err, err, tc.want)
			}
			if _, err := ParseInstanceConfig([]byte(tc.body), "test", InstanceConfigOptions{DangerousAllowReadingFiles: true}); err != nil {
				t.Fatalf("with DangerousAllowReadingFiles: %v", err)
			}
		})
	}

	// Safe types without file references and file SD's own files pass.
	mustParse(t, sd(`
dns_sd_configs: [{names: [a.example.com]}]
file_sd_configs: [{files: [/etc/targets/*.json]}]
consul_sd_configs: [{server: s, tls_config: {ca: inline}}]
eureka_sd_configs: [{server: 'http://e'}]
marathon_sd_configs: [{servers: ['http://m'], auth_token: t}]
`), InstanceConfigOptions{})
}

// scrubConfig has secrets in every kind of place.
const scrubConfig = `
scrape_configs:
- job_name: a
  basic_auth: {username: alice, password: hunter2}
  tls_config: {cert: CERT, key: KEY}
  static_configs: [{targets: [a], labels: {password: visible-label}}]
  consul_sd_configs: [{server: s, token: consul-token}]
  marathon_sd_configs: [{servers: ['http://m'], auth_token: SK}]
- job_name: b
  authorization: {credentials: cred}
  oauth2: ~
- job_name: c
  oauth2: {client_id: id, client_secret: cs, token_url: 'http://t'}
  params: {token: [visible-param]}
remote_write:
- url: https://user:pw@example.com/push
  bearer_token: bt
  headers: {X-Token: visible-header}
  http_headers: {X-A: {values: [v], secrets: [s1, s2]}}
- url: http://b
  sigv4: {region: eu, access_key: AK2, secret_key: SK2}
`

func TestInstanceConfig_Scrubbed(t *testing.T) {
	c := mustParse(t, scrubConfig, InstanceConfigOptions{})
	out, err := c.Scrubbed()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, secret := range []string{"hunter2", "KEY", "consul-token", "SK", "cred", "cs", ":pw@", "bt", "s1", "s2", "SK2"} {
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(secret) + `\b`).MatchString(s) {
			t.Errorf("secret %q left in scrubbed output:\n%s", secret, s)
		}
	}
	for _, kept := range []string{"alice", "CERT", "visible-label", "visible-param", "visible-header", "AK", "region: eu", "id", "https://user:xxxxx@example.com/push"} {
		if !strings.Contains(s, kept) {
			t.Errorf("%q missing from scrubbed output:\n%s", kept, s)
		}
	}
	if n := strings.Count(s, SecretPlaceholder); n != 10 {
		t.Errorf("%d placeholders, want 10:\n%s", n, s)
	}
	// Scrubbing does not touch the config itself.
	if enc := mustEncode(t, c); !strings.Contains(enc, "hunter2") || !strings.Contains(enc, "user:pw@") {
		t.Fatalf("Encode lost secrets:\n%s", enc)
	}
}

func TestInstanceConfig_JobNames(t *testing.T) {
	c := mustParse(t, "scrape_configs:\n- {job_name: b}\n- {job_name: a}\n", InstanceConfigOptions{})
	if got := strings.Join(c.JobNames(), ","); got != "b,a" {
		t.Fatalf("JobNames = %q", got)
	}
	if got := mustParse(t, "host_filter: true\n", InstanceConfigOptions{}).JobNames(); len(got) != 0 {
		t.Fatalf("JobNames = %q, want none", got)
	}
}

func TestInstanceConfig_RemoteWriteName(t *testing.T) {
	c := mustParse(t, "remote_write:\n- url: http://a\n- {url: http://b, name: named}\n", InstanceConfigOptions{})
	gen, err := c.RemoteWriteName(0)
	if err != nil || !regexp.MustCompile(`^test-[0-9a-f]{6}$`).MatchString(gen) {
		t.Fatalf("generated name %q, %v", gen, err)
	}
	if again, _ := c.RemoteWriteName(0); again != gen {
		t.Fatal("generated name is not stable")
	}
	if name, _ := c.RemoteWriteName(1); name != "named" {
		t.Fatalf("explicit name = %q", name)
	}
	if c.RemoteWrite[0].Name != "" {
		t.Fatal("the generated name must not be stored")
	}
}

func TestParseInstanceConfig_MultipleDocuments(t *testing.T) {
	if _, err := ParseInstanceConfig([]byte("host_filter: true\n---\nhost_filter: false\n"), "t", InstanceConfigOptions{}); err == nil {
		t.Fatal("second document accepted")
	}
	mustParse(t, "host_filter: true\n---\n", InstanceConfigOptions{})
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}
