package host

import (
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
)

// Secrets are redacted by Nomad's list and by TOKEN or SECRET anywhere in
// the name, whatever the case; everything else is passed through.
func TestEnvironment_RedactsSecrets(t *testing.T) {
	got := Environment([]string{
		"PATH=/usr/bin", "VAULT_TOKEN=s.1", "AWS_ACCESS_KEY_ID=AKIA", "GOOGLE_APPLICATION_CREDENTIALS=/k.json",
		"my_api_token=x", "DB_SECRET_PASSWORD=y", "EMPTY=", "WITH=EQUALS=SIGN", "=nameless",
	})
	want := map[string]string{
		"PATH": "/usr/bin", "VAULT_TOKEN": Redacted, "AWS_ACCESS_KEY_ID": Redacted,
		"GOOGLE_APPLICATION_CREDENTIALS": Redacted, "my_api_token": Redacted, "DB_SECRET_PASSWORD": Redacted,
		"EMPTY": "", "WITH": "EQUALS=SIGN",
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// Data describes this machine: the loopback address with go-sockaddr's
// attributes and dial arguments, the files as they are, a disk, and no
// secret from the process environment; and it encodes with Nomad's keys.
func TestData_DescribesThisHost(t *testing.T) {
	t.Setenv("NOMADLIKE_TEST_SECRET", "hunter2")
	d := Data()
	if runtime.GOOS == "linux" && !strings.Contains(d.OS, "Linux") {
		t.Errorf("OS %q", d.OS)
	}
	var loopback map[string]string
	for _, a := range d.Network {
		if a["address"] == "127.0.0.1" {
			loopback = a
		}
	}
	if loopback == nil {
		t.Fatalf("no 127.0.0.1 in %v", d.Network)
	}
	for k, v := range map[string]string{"type": "IPv4", "string": "127.0.0.1/8", "mask_bits": "8", "hex": "7f000001",
		"uint32": "2130706433", "DialStream": `"tcp4" ""`, "ListenStream": `"tcp4" ""`} {
		if loopback[k] != v {
			t.Errorf("loopback %s = %q, want %q (all: %v)", k, loopback[k], v, loopback)
		}
	}
	if want, err := os.ReadFile("/etc/hosts"); err == nil && d.Hosts != string(want) {
		t.Errorf("Hosts %q", d.Hosts)
	}
	if d.Environment["NOMADLIKE_TEST_SECRET"] != Redacted || d.Environment["PATH"] != os.Getenv("PATH") {
		t.Errorf("environment secret %q, PATH %q", d.Environment["NOMADLIKE_TEST_SECRET"], d.Environment["PATH"])
	}
	if runtime.GOOS == "linux" {
		wd, _ := os.Getwd()
		var best string
		for mount, u := range d.Disk {
			if u.DiskMB <= 0 || u.UsedMB < 0 || u.UsedMB > u.DiskMB {
				t.Errorf("disk %s: %+v", mount, u)
			}
			if strings.HasPrefix(wd, mount) && len(mount) > len(best) {
				best = mount
			}
		}
		if best == "" {
			t.Errorf("no disk holds the working directory %s: %v", wd, d.Disk)
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"OS"`, `"Network"`, `"ResolvConf"`, `"Hosts"`, `"Environment"`, `"Disk"`, `"DiskMB"`, `"UsedMB"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{`/mnt/a\040b`: "/mnt/a b", `/plain`: "/plain", `/x\134y`: `/x\y`, `/bad\9`: `/bad\9`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
