// Package host describes the machine an agent runs on, for GET
// /v1/agent/host, in the shape Nomad's agent reports it (see
// nomadlike/DESIGN.md, "Host data").
package host

import (
	"fmt"
	"os"
	"strings"

	sockaddr "github.com/hashicorp/go-sockaddr"

	"github.com/nomadlike/nomadlike/structs"
)

// Redacted replaces the value of an environment variable that may hold a
// secret.
const Redacted = "<redacted>"

// deniedEnv are variables redacted by name (Nomad's list); any name whose
// upper case holds TOKEN or SECRET is redacted too.
var deniedEnv = map[string]bool{
	"CONSUL_TOKEN": true, "CONSUL_HTTP_TOKEN": true, "VAULT_TOKEN": true, "NOMAD_LICENSE": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"GOOGLE_APPLICATION_CREDENTIALS": true,
}

// Data describes this host now.
func Data() *structs.HostData {
	return &structs.HostData{
		OS:          osDescription(),
		Network:     network(),
		ResolvConf:  slurp("/etc/resolv.conf"),
		Hosts:       slurp("/etc/hosts"),
		Environment: Environment(os.Environ()),
		Disk:        disks(),
	}
}

// Environment turns KEY=value pairs into a map with secrets redacted.
func Environment(pairs []string) map[string]string {
	out := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			continue
		}
		if up := strings.ToUpper(k); deniedEnv[k] || strings.Contains(up, "TOKEN") || strings.Contains(up, "SECRET") {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

// network lists every interface address with go-sockaddr's attributes of
// it and the arguments to dial and listen on it. A failure to list is
// reported as the only entry, under "error".
func network() []map[string]string {
	addrs, err := sockaddr.GetAllInterfaces()
	if err != nil {
		return []map[string]string{{"error": err.Error()}}
	}
	out := make([]map[string]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, addrAttrs(a.SockAddr))
	}
	return out
}

func addrAttrs(sa sockaddr.SockAddr) map[string]string {
	m := map[string]string{}
	names := append([]sockaddr.AttrName(nil), sockaddr.SockAddrAttrs()...)
	switch t := sa.Type(); {
	case t&sockaddr.TypeIP != 0:
		names = append(names, sockaddr.IPAttrs()...)
		if t == sockaddr.TypeIPv4 {
			names = append(names, sockaddr.IPv4Attrs()...)
		} else if t == sockaddr.TypeIPv6 {
			names = append(names, sockaddr.IPv6Attrs()...)
		}
	case t == sockaddr.TypeUnix:
		names = append(names, sockaddr.UnixSockAttrs()...)
	}
	for _, name := range names {
		if v, err := sockaddr.Attr(sa, name); err == nil {
			m[string(name)] = v
		}
	}
	args := func(network, address string) string { return fmt.Sprintf("%+q %+q", network, address) }
	m["DialPacket"] = args(sa.DialPacketArgs())
	m["DialStream"] = args(sa.DialStreamArgs())
	m["ListenPacket"] = args(sa.ListenPacketArgs())
	m["ListenStream"] = args(sa.ListenStreamArgs())
	return m
}

// slurp is a whole file, or why it could not be read.
func slurp(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
