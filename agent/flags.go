package agent

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// CommandConfig parses `nomadlike agent` flags into a Config holding only
// what the flags set, plus the -config paths in the order given. -dev is
// reported separately because it changes the defaults underneath.
func CommandConfig(args []string, out io.Writer) (flags *Config, configPaths []string, dev bool, err error) {
	c := &Config{
		Ports:          &Ports{},
		Addresses:      &Addresses{},
		AdvertiseAddrs: &Addresses{},
		Server:         &ServerConfig{},
		Client:         &ClientConfig{},
		ACL:            &ACLConfig{},
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(out)

	fs.BoolVar(&dev, "dev", false, "")
	fs.Var(boolPtr{&c.Server.Enabled}, "server", "")
	fs.Var(boolPtr{&c.Client.Enabled}, "client", "")
	fs.Var(intPtr{&c.Server.BootstrapExpect}, "bootstrap-expect", "")
	fs.Var(stringPtr{&c.DataDir}, "data-dir", "")
	fs.Var(stringPtr{&c.NodeName}, "node", "")
	fs.Var(stringPtr{&c.Datacenter}, "dc", "")
	fs.Var(stringPtr{&c.Region}, "region", "")
	fs.Var(stringPtr{&c.BindAddr}, "bind", "")
	var advertise string
	fs.StringVar(&advertise, "advertise", "", "")
	fs.Var(listFlag{&c.Client.Servers}, "servers", "")
	fs.Var(listFlag{&c.Server.StartJoin}, "join", "")
	fs.Var(listFlag{&c.Server.RetryJoin}, "retry-join", "")
	fs.Var(stringPtr{&c.Server.RetryInterval}, "retry-interval", "")
	fs.Var(intPtr{&c.Server.RetryMaxAttempts}, "retry-max", "")
	fs.Var(metaFlag{&c.Client.Meta}, "meta", "")
	fs.Var(stringPtr{&c.LogLevel}, "log-level", "")
	fs.Var(boolPtr{&c.LogJSON}, "log-json", "")
	fs.Var(stringPtr{&c.LogFile}, "log-file", "")
	fs.Var(intPtr{&c.LogRotateBytes}, "log-rotate-bytes", "")
	fs.Var(stringPtr{&c.LogRotateDuration}, "log-rotate-duration", "")
	fs.Var(intPtr{&c.LogRotateMaxFiles}, "log-rotate-max-files", "")
	fs.Var(boolPtr{&c.EnableDebug}, "enable-debug", "")
	fs.Var(boolPtr{&c.EnableConfigReadAPI}, "config.enable-read-api", "")
	fs.Var(boolPtr{&c.DisableSupportBundle}, "disable-support-bundle", "")
	fs.Var(appendFlag{&configPaths}, "config", "")
	fs.Var(intPtr{&c.Ports.HTTP}, "http-port", "")
	fs.Var(intPtr{&c.Ports.RPC}, "rpc-port", "")
	fs.Var(intPtr{&c.Ports.Serf}, "serf-port", "")
	fs.Var(boolPtr{&c.LeaveOnInt}, "leave-on-interrupt", "")
	fs.Var(boolPtr{&c.LeaveOnTerm}, "leave-on-terminate", "")
	fs.Var(boolPtr{&c.ACL.Enabled}, "acl-enabled", "")
	fs.Var(stringPtr{&c.Client.Token}, "token", "")
	fs.Var(stringPtr{&c.Server.Encrypt}, "encrypt", "")
	fs.Usage = func() {}

	if err := fs.Parse(args); err != nil {
		return nil, nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, nil, false, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if advertise != "" {
		// -advertise sets the host of all three advertised addresses; each
		// keeps its own port, so a port here would be wrong for two of them.
		if _, _, err := net.SplitHostPort(advertise); err == nil {
			return nil, nil, false, fmt.Errorf("invalid value %q for flag -advertise: give an address without a port "+
				"(each listener advertises its own port; set host:port per listener in an advertise {} block)", advertise)
		}
		c.AdvertiseAddrs.HTTP, c.AdvertiseAddrs.RPC, c.AdvertiseAddrs.Serf = ptr(advertise), ptr(advertise), ptr(advertise)
	}
	return c, configPaths, dev, nil
}

type stringPtr struct{ p **string }

func (f stringPtr) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return **f.p
}
func (f stringPtr) Set(v string) error { *f.p = &v; return nil }

type boolPtr struct{ p **bool }

func (f boolPtr) String() string {
	if f.p == nil || *f.p == nil {
		return "false"
	}
	return strconv.FormatBool(**f.p)
}
func (f boolPtr) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*f.p = &b
	return nil
}
func (f boolPtr) IsBoolFlag() bool { return true }

type intPtr struct{ p **int }

func (f intPtr) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return strconv.Itoa(**f.p)
}
func (f intPtr) Set(v string) error {
	i, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not a number", v)
	}
	*f.p = &i
	return nil
}

// listFlag appends comma-separated values; the flag may repeat.
type listFlag struct{ p *[]string }

func (f listFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strings.Join(*f.p, ",")
}
func (f listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*f.p = append(*f.p, s)
		}
	}
	return nil
}

// appendFlag appends each value whole (a path may contain a comma); the
// flag may repeat.
type appendFlag struct{ p *[]string }

func (f appendFlag) String() string {
	if f.p == nil {
		return ""
	}
	return strings.Join(*f.p, ",")
}
func (f appendFlag) Set(v string) error { *f.p = append(*f.p, v); return nil }

// metaFlag collects repeated key=value pairs.
type metaFlag struct{ p *map[string]string }

func (f metaFlag) String() string { return "" }
func (f metaFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q must be key=value", v)
	}
	if *f.p == nil {
		*f.p = map[string]string{}
	}
	(*f.p)[k] = val
	return nil
}
