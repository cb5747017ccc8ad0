package validate

import (
	"testing"
)

func FuzzParseMatcher(f *testing.F) {
	seeds := []string{
		`env="prod"`, `env=prod`, `env!="prod"`, `env=~"prod|dev"`, `env!~".*"`,
		`env="a\"b"`, `env="a\\b"`, `"my key"="v"`, `{env="prod"}`, `région="é"`,
		``, `env`, `=x`, `env=~(`, `a=b,c=d`, `""="x"`, `env="\xff"`, "env=\xff",
		`env="unterminated`, `{env="a"`, `env=~"[[:alpha:]]+"`, `a="\u00e9\U0001F600"`,
	}
	for _, s := range seeds {
		f.Add(s, "prod")
	}
	f.Fuzz(func(t *testing.T, s, value string) {
		m, err := ParseMatcher(s)
		if err != nil {
			return
		}
		if m.Name == "" || len(s) > MaxMatcherBytes {
			t.Fatalf("accepted %q as %+v", s, m)
		}
		m.Matches(map[string]string{m.Name: value})
		m.Matches(nil)
		// The canonical form reads back to the same matcher.
		if len(m.String()) <= MaxMatcherBytes {
			back, err := ParseMatcher(m.String())
			if err != nil {
				t.Fatalf("%q: String() %q does not parse: %v", s, m.String(), err)
			}
			if back.Name != m.Name || back.Op != m.Op || back.Value != m.Value {
				t.Fatalf("%q: round trip %+v != %+v", s, back, m)
			}
		}
	})
}

// instanceConfigSeeds start the fuzzer; the compatibility test runs them too.
var instanceConfigSeeds = []string{
	minimalConfig,
	"",
	"~",
	"[1]",
	"name: x\nhost_filter: true\n",
	"foo: 1\n",
	"wal_truncate_frequency: 0s\n",
	"min_wal_time: 5h\n",
	"scrape_configs:\n- {job_name: a, scrape_interval: 10s, scrape_timeout: 20s}\n",
	"scrape_configs:\n- {job_name: a}\n- {job_name: a}\n",
	"scrape_configs:\n- job_name: a\n  basic_auth: {username: u, password_file: /p}\n",
	"scrape_configs:\n- job_name: a\n  consul_sd_configs: [{server: s, tls_config: {ca_file: /ca}}]\n",
	"scrape_configs:\n- job_name: a\n  nomad_sd_configs: [{server: s}]\n",
	"scrape_configs:\n- job_name: a\n  kubernetes_sd_configs: [{role: pod, http_headers: {X: {files: [/f]}}}]\n",
	"scrape_configs:\n- job_name: a\n  relabel_configs: [{action: hashmod, target_label: x, modulus: 3}]\n",
	"scrape_configs:\n- job_name: a\n  file_sd_configs: [{files: [a.json], refresh_interval: 1m}]\n",
	"remote_write:\n- url: http://a\n- url: http://a\n",
	"remote_write:\n- url: https://u:p@x/push\n  oauth2: {client_id: a, client_secret: b, token_url: 'http://t'}\n",
	"remote_write:\n- url: http://x\n  sigv4: {region: eu, secret_key: s}\n  write_relabel_configs: [{action: drop, regex: 'up'}]\n",
	"remote_write:\n- url: /relative\n",
	"host_filter_relabel_configs:\n- {action: labeldrop, regex: 'x.*'}\n",
	"a: &a [1,2]\nb: *a\n",
	"host_filter: true\n---\nhost_filter: false\n",
	explicitZeroConfig,
}

func FuzzParseInstanceConfig(f *testing.F) {
	seeds := instanceConfigSeeds
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, allowFiles bool) {
		opts := InstanceConfigOptions{DangerousAllowReadingFiles: allowFiles}
		c, err := ParseInstanceConfig(body, "fuzz", opts)
		if err != nil {
			switch err.(type) {
			case *UnmarshalError, *ValidationError:
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		if _, err := c.Scrubbed(); err != nil {
			t.Fatalf("Scrubbed: %v", err)
		}
		c.JobNames()
		// What we store must parse again, under the same rules, to itself.
		again, err := ParseInstanceConfig(enc, "fuzz", opts)
		if err != nil {
			t.Fatalf("re-parse of encoded config: %v\n%s", err, enc)
		}
		enc2, err := again.Encode()
		if err != nil || string(enc2) != string(enc) {
			t.Fatalf("encoding is not stable (%v):\n%s\n---\n%s", err, enc, enc2)
		}
	})
}
