package validate

import (
	"errors"
	"strings"
	"testing"
)

const storedWithSecrets = `
scrape_configs:
- job_name: a
  basic_auth: {username: alice, password: scrape-pw}
  static_configs: [{targets: [a]}]
remote_write:
- url: https://user:url-pw@one.example.com/push
  basic_auth: {username: u, password: rw-pw}
- name: two
  url: https://two.example.com/push
  http_headers: {X-A: {secrets: [h1, h2]}}
`

func TestKeepStoredSecrets_RoundTrip(t *testing.T) {
	stored := mustParse(t, storedWithSecrets, InstanceConfigOptions{})
	scrubbed, err := stored.Scrubbed()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(scrubbed), "rw-pw") || !strings.Contains(string(scrubbed), "xxxxx") {
		t.Fatalf("scrubbed output:\n%s", scrubbed)
	}
	// What GET returned comes back, with the two remote_writes swapped.
	back := mustParse(t, string(scrubbed), InstanceConfigOptions{})
	back.RemoteWrite[0], back.RemoteWrite[1] = back.RemoteWrite[1], back.RemoteWrite[0]
	if !back.HasPlaceholders() {
		t.Fatal("HasPlaceholders = false for scrubbed output")
	}
	kept, err := back.KeepStoredSecrets(stored, InstanceConfigOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if kept.HasPlaceholders() {
		t.Fatal("placeholders left")
	}
	enc := mustEncode(t, kept)
	for _, s := range []string{"scrape-pw", "rw-pw", "user:url-pw@one.example.com", "- h1", "- h2"} {
		if !strings.Contains(enc, s) {
			t.Errorf("%q not kept:\n%s", s, enc)
		}
	}
	if strings.Contains(enc, SecretPlaceholder) || strings.Contains(enc, RedactedPassword) {
		t.Fatalf("placeholder stored:\n%s", enc)
	}
	if kept.RemoteWrite[0].Name != "two" {
		t.Fatal("order of the request not kept")
	}
}

func TestKeepStoredSecrets_Refused(t *testing.T) {
	stored := mustParse(t, storedWithSecrets, InstanceConfigOptions{})
	cases := []struct {
		name, body, want string
		stored           *InstanceConfig
	}{
		{"no stored config", "remote_write:\n- url: http://a\n  basic_auth: {username: u, password: <secret>}\n",
			`remote_write[0].basic_auth.password: "<secret>" is a placeholder`, nil},
		{"url changed", "remote_write:\n- url: https://user:url-pw@elsewhere.example.com/push\n  basic_auth: {username: u, password: <secret>}\n",
			`remote_write[0].basic_auth.password: "<secret>" is a placeholder`, stored},
		{"no secret at that place", "scrape_configs:\n- job_name: a\n  authorization: {credentials: <secret>}\n",
			`scrape_configs[0].authorization.credentials: "<secret>" is a placeholder`, stored},
		{"other job", "scrape_configs:\n- job_name: b\n  basic_auth: {username: alice, password: <secret>}\n",
			`scrape_configs[0].basic_auth.password: "<secret>" is a placeholder`, stored},
		{"redacted url, none stored", "remote_write:\n- url: https://user:xxxxx@new.example.com/push\n",
			`remote_write[0].url: password "xxxxx" is a placeholder`, stored},
		{"extra header secret", "remote_write:\n- name: two\n  url: https://two.example.com/push\n  http_headers: {X-A: {secrets: [<secret>, <secret>, <secret>]}}\n",
			`remote_write[0].http_headers.X-A.secrets[2]: "<secret>" is a placeholder`, stored},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.body, InstanceConfigOptions{})
			_, err := c.KeepStoredSecrets(tc.stored, InstanceConfigOptions{})
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if mustParse(t, storedWithSecrets, InstanceConfigOptions{}).HasPlaceholders() {
		t.Fatal("HasPlaceholders = true for a config with real secrets")
	}
}
