package command

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/cli"
)

// TestTLSCommands: ca create and cert create write Nomad's file names into
// the working directory, with the SANs of each role, and never overwrite.
func TestTLSCommands(t *testing.T) {
	t.Chdir(t.TempDir())
	run := func(c cli.Command, args ...string) (int, string) {
		ui := cli.NewMockUi()
		switch c := c.(type) {
		case *TLSCACreateCommand:
			c.Ui = ui
		case *TLSCertCreateCommand:
			c.Ui = ui
		}
		code := c.Run(args)
		return code, ui.OutputWriter.String() + ui.ErrorWriter.String()
	}
	if code, out := run(&TLSCertCreateCommand{}, "-server"); code == 0 || !strings.Contains(out, "reading CA certificate") {
		t.Fatalf("cert create without a CA: %d %s", code, out)
	}
	if code, out := run(&TLSCACreateCommand{}); code != 0 {
		t.Fatalf("ca create: %d %s", code, out)
	}
	if code, out := run(&TLSCACreateCommand{}); code == 0 || !strings.Contains(out, "refusing to overwrite") {
		t.Fatalf("second ca create: %d %s", code, out)
	}
	for _, bad := range [][]string{{}, {"-server", "-client"}, {"-cli", "-region", "a.b"}, {"-server", "-additional-ipaddress", "nope"}} {
		if code, out := run(&TLSCertCreateCommand{}, bad...); code == 0 {
			t.Fatalf("cert create %v: %d %s", bad, code, out)
		}
	}
	want := map[string][]string{
		"server": {"server.eu.nomadlike", "localhost", "extra.example"},
		"client": {"client.eu.nomadlike", "localhost", "extra.example"},
		"cli":    {"cli.eu.nomadlike", "localhost", "extra.example"},
	}
	for role, names := range want {
		code, out := run(&TLSCertCreateCommand{}, "-"+role, "-region", "eu", "-additional-dnsname", "extra.example", "-additional-ipaddress", "10.1.2.3")
		if code != 0 {
			t.Fatalf("cert create -%s: %s", role, out)
		}
		buf, err := os.ReadFile("eu-" + role + "-nomadlike.pem")
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(buf)
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(cert.DNSNames, ",") != strings.Join(names, ",") {
			t.Errorf("%s: DNS names %v, want %v", role, cert.DNSNames, names)
		}
		ips := []string{}
		for _, ip := range cert.IPAddresses {
			ips = append(ips, ip.String())
		}
		wantIPs := "127.0.0.1,10.1.2.3"
		if role == "cli" {
			wantIPs = "10.1.2.3"
		}
		if strings.Join(ips, ",") != wantIPs {
			t.Errorf("%s: IPs %v, want %s", role, ips, wantIPs)
		}
		if fi, err := os.Stat("eu-" + role + "-nomadlike-key.pem"); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s key: %v %v", role, fi, err)
		}
		if code, out := run(&TLSCertCreateCommand{}, "-"+role, "-region", "eu"); code == 0 || !strings.Contains(out, "refusing to overwrite") {
			t.Errorf("second cert create -%s: %d %s", role, code, out)
		}
	}
}
