// Package testcluster runs real nomadlike agents as separate processes on
// loopback ports, for tests and benchmarks that need what only processes
// give: kill -9, restarts on the same data dir, SIGTERM handling. Every
// process is stopped by the test that started it (and dies with the test
// binary through PDEATHSIG).
package testcluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// Binary builds the nomadlike binary once per test process.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "nomadlike-bin-")
		if buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "nomadlike")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", buildPath, ".")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Cleanup removes the built binary; call it from TestMain after m.Run.
func Cleanup() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// Agent is one agent process.
type Agent struct {
	Name     string
	Server   bool
	Client   bool
	HTTPPort int
	RPCPort  int
	SerfPort int
	DataDir  string
	// Args are the flags beyond identity, ports and data dir.
	Args []string
	// Token is the ACL secret the API client sends (empty: none).
	Token string
	// TLS, when set, makes URL https and the API client use it (for an
	// agent with tls { http = true }).
	TLS *api.TLSConfig
	// Host is the address the agent binds and is reached on (empty:
	// 127.0.0.1); set it before Start, e.g. to an address inside a
	// network namespace.
	Host string
	// Exec prefixes the command line, such as "ip netns exec NS"; the
	// prefix must exec the agent in place so that signals reach it.
	Exec []string
	// LogLevel is the -log-level flag (NewAgent: info); empty passes
	// none, so that a config file's log_level holds.
	LogLevel string

	t       testing.TB
	logPath string
	mu      sync.Mutex
	apis    map[apiKey]*api.Client
	cmd     *exec.Cmd
	exited  chan struct{}
	paused  bool
}

// NewAgent prepares (does not start) an agent with fresh ports and a data
// dir under dir.
func NewAgent(t testing.TB, dir, name string, server, client bool, args ...string) *Agent {
	ports := testutil.FreePorts(t, 3)
	a := &Agent{
		Name: name, Server: server, Client: client,
		HTTPPort: ports[0], RPCPort: ports[1], SerfPort: ports[2],
		DataDir: filepath.Join(dir, name), Args: args, LogLevel: "info", t: t,
		logPath: filepath.Join(dir, name+".log"),
	}
	t.Cleanup(a.Kill)
	return a
}

// host is the bind address.
func (a *Agent) host() string {
	if a.Host != "" {
		return a.Host
	}
	return "127.0.0.1"
}

// URL is the HTTP base address.
func (a *Agent) URL() string {
	if a.TLS != nil {
		return fmt.Sprintf("https://%s:%d", a.host(), a.HTTPPort)
	}
	return fmt.Sprintf("http://%s:%d", a.host(), a.HTTPPort)
}

// RPCAddr is the RPC (and raft) address.
func (a *Agent) RPCAddr() string { return fmt.Sprintf("%s:%d", a.host(), a.RPCPort) }

// SerfAddr is the gossip address.
func (a *Agent) SerfAddr() string { return fmt.Sprintf("%s:%d", a.host(), a.SerfPort) }

// API returns an api client for the agent. Clients are kept per token
// and TLS settings: a TLS client has a transport of its own, and a fresh
// one per call would leave an idle connection per call open on the agent,
// past its per-address connection cap.
func (a *Agent) API() *api.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := apiKey{a.Token, a.TLS}
	if c, ok := a.apis[key]; ok {
		return c
	}
	c, err := api.NewClient(&api.Config{Address: a.URL(), Token: a.Token, TLSConfig: a.TLS})
	if err != nil {
		a.t.Fatal(err)
	}
	if a.apis == nil {
		a.apis = map[apiKey]*api.Client{}
	}
	a.apis[key] = c
	return c
}

type apiKey struct {
	token string
	tls   *api.TLSConfig
}

// Start starts the process (again, after Kill or Stop, on the same ports
// and data dir).
func (a *Agent) Start() {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd != nil {
		a.t.Fatalf("%s already running", a.Name)
	}
	args := []string{"agent",
		"-node", a.Name, "-bind", a.host(), "-data-dir", a.DataDir,
		"-http-port", strconv.Itoa(a.HTTPPort), "-rpc-port", strconv.Itoa(a.RPCPort),
		"-serf-port", strconv.Itoa(a.SerfPort),
	}
	if a.LogLevel != "" {
		args = append(args, "-log-level", a.LogLevel)
	}
	if a.Server {
		args = append(args, "-server")
	}
	if a.Client {
		args = append(args, "-client")
	}
	args = append(args, a.Args...)
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	fmt.Fprintf(logf, "==== start %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(redactArgs(args), " "))
	cmd := exec.Command(Binary(a.t), args...)
	if len(a.Exec) > 0 {
		cmd = exec.Command(a.Exec[0], append(append(a.Exec[1:len(a.Exec):len(a.Exec)], Binary(a.t)), args...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		a.t.Fatalf("starting %s: %v", a.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	a.cmd, a.exited = cmd, exited
}

// redactArgs hides the value of -token so that the harness's own start
// line never puts a secret into the log the secret-grep test reads.
func redactArgs(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		switch {
		case a == "-token" && i+1 < len(out):
			out[i+1] = "<redacted>"
		case strings.HasPrefix(a, "-token="):
			out[i] = "-token=<redacted>"
		}
	}
	return out
}

// PID is the running process's ID (0 when stopped).
func (a *Agent) PID() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return 0
	}
	return a.cmd.Process.Pid
}

// Kill sends SIGKILL and waits for the process to exit.
func (a *Agent) Kill() { a.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for a clean exit (SIGKILL after 20 s).
func (a *Agent) Stop() { a.signal(syscall.SIGTERM) }

func (a *Agent) signal(sig syscall.Signal) {
	a.mu.Lock()
	cmd, exited, paused := a.cmd, a.exited, a.paused
	a.cmd, a.paused = nil, false
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	if paused { // a stopped process acts on SIGTERM only once continued
		cmd.Process.Signal(syscall.SIGCONT)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Hangup sends SIGHUP: the agent reloads its configuration and keeps
// running.
func (a *Agent) Hangup() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd != nil {
		a.cmd.Process.Signal(syscall.SIGHUP)
	}
}

// Pause stops the process with SIGSTOP: it keeps its sockets and its
// state but answers nothing, as a process stalled by a long GC, a swap
// storm or a hung disk does, until Resume.
func (a *Agent) Pause() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd != nil && !a.paused {
		a.cmd.Process.Signal(syscall.SIGSTOP)
		a.paused = true
	}
}

// Resume continues a paused process with SIGCONT.
func (a *Agent) Resume() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd != nil && a.paused {
		a.cmd.Process.Signal(syscall.SIGCONT)
	}
	a.paused = false
}

// Paused tells whether the process is stopped by Pause.
func (a *Agent) Paused() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cmd != nil && a.paused
}

// Exited tells whether a started process has ended by itself (a crash or
// a panic), as opposed to being stopped by Kill or Stop.
func (a *Agent) Exited() bool {
	a.mu.Lock()
	exited := a.exited
	running := a.cmd != nil
	a.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-exited:
		return true
	default:
		return false
	}
}

// LogTail returns the last n lines of the agent's output.
func (a *Agent) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(a.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Running tells whether the process is up.
func (a *Agent) Running() bool { return a.PID() != 0 }

// Log returns the agent's output so far.
func (a *Agent) Log() string {
	buf, _ := os.ReadFile(a.logPath)
	return string(buf)
}

// Cluster is a set of agent processes.
type Cluster struct {
	t       testing.TB
	Dir     string
	Servers []*Agent
	Clients []*Agent
	// Management is the bootstrap token when Options.ACL is set.
	Management *api.ACLToken
	// ClientToken is the node:write token given to clients (Options.ACL).
	ClientToken *api.ACLToken

	token string
}

// Options shape a cluster.
type Options struct {
	Servers int
	Clients int
	// ServerArgs and ClientArgs are added to every server's / client's
	// flags (e.g. a -config file with test timings).
	ServerArgs []string
	ClientArgs []string
	// ClientServers picks the servers a client is given with -servers
	// (default: all of them).
	ClientServers func(servers []*Agent) []*Agent
	// PrepareServer, if set, is called for each server before anything
	// uses its address or starts it (to set Host and Exec).
	PrepareServer func(i int, a *Agent)
	// ACL turns ACLs on: servers get -acl-enabled, the first server is
	// bootstrapped (its management token is used for every API call the
	// helper makes) and clients get a token whose policy grants node:write.
	ACL bool
}

// New starts the servers (bootstrap_expect = Servers, each retry-joining
// the first), waits for a leader, then starts the clients and waits until
// their nodes are ready.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	Binary(t)
	dir := t.TempDir()
	c := &Cluster{t: t, Dir: dir}
	for i := 0; i < opts.Servers; i++ {
		args := append([]string{"-bootstrap-expect", strconv.Itoa(opts.Servers), "-retry-interval", "200ms"}, opts.ServerArgs...)
		if opts.ACL {
			args = append(args, "-acl-enabled")
		}
		c.Servers = append(c.Servers, NewAgent(t, dir, fmt.Sprintf("server-%d", i+1), true, false, args...))
		if opts.PrepareServer != nil {
			opts.PrepareServer(i, c.Servers[i])
		}
	}
	for _, s := range c.Servers[1:] {
		s.Args = append(s.Args, "-retry-join", c.Servers[0].SerfAddr())
	}
	for _, s := range c.Servers {
		s.Start()
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
	})
	clientArgs := opts.ClientArgs
	if opts.ACL {
		c.bootstrapACL()
		clientArgs = append([]string{"-acl-enabled", "-token", c.ClientToken.SecretID}, clientArgs...)
	}
	c.WaitForLeader()
	for i := 0; i < opts.Clients; i++ {
		c.AddClient(fmt.Sprintf("client-%d", i+1), opts.ClientServers, clientArgs...)
	}
	for _, cl := range c.Clients {
		c.WaitForNodeStatus(cl.NodeID(), "ready")
	}
	return c
}

// bootstrapACL bootstraps on the first server once a leader exists (the
// call fails with "no leader" until then), makes the management token the
// helper's token, and creates the clients' node:write token.
func (c *Cluster) bootstrapACL() {
	c.t.Helper()
	testutil.WaitForResult(c.t, 60*time.Second, func() error {
		tok, _, err := c.Servers[0].API().ACLTokens().Bootstrap(nil)
		if err != nil {
			return err
		}
		c.Management = tok
		return nil
	})
	c.SetToken(c.Management.SecretID)
	a := c.Servers[0].API()
	if _, err := a.ACLPolicies().Upsert(&api.ACLPolicy{
		Name: "client-agent", Description: "what a client agent needs", Rules: `node { policy = "write" }`,
	}, nil); err != nil {
		c.t.Fatal(err)
	}
	tok, _, err := a.ACLTokens().Create(&api.ACLToken{Name: "client agents", Type: "client", Policies: []string{"client-agent"}}, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.ClientToken = tok
}

// SetToken makes every agent's API client (present and future) send secret.
func (c *Cluster) SetToken(secret string) {
	c.token = secret
	for _, a := range append(append([]*Agent{}, c.Servers...), c.Clients...) {
		a.Token = secret
	}
}

// AddClient starts one more client.
func (c *Cluster) AddClient(name string, pick func([]*Agent) []*Agent, args ...string) *Agent {
	servers := c.Servers
	if pick != nil {
		servers = pick(servers)
	}
	var addrs []string
	for _, s := range servers {
		addrs = append(addrs, s.RPCAddr())
	}
	args = append([]string{"-servers", strings.Join(addrs, ",")}, args...)
	cl := NewAgent(c.t, c.Dir, name, false, true, args...)
	cl.Token = c.token
	cl.Start()
	c.Clients = append(c.Clients, cl)
	return cl
}

// NodeID is a client's node ID, read from its data dir once it exists.
func (a *Agent) NodeID() string {
	a.t.Helper()
	var id string
	testutil.WaitForResult(a.t, 30*time.Second, func() error {
		buf, err := os.ReadFile(filepath.Join(a.DataDir, "client", "client-id"))
		if err != nil {
			return err
		}
		// The client may have created the file and not written it yet.
		if id = strings.TrimSpace(string(buf)); id == "" {
			return errors.New("client-id file is still empty")
		}
		return nil
	})
	return id
}

// Leader returns the server agent that all running servers agree leads.
func (c *Cluster) Leader() *Agent {
	c.t.Helper()
	var leader string
	for _, s := range c.Running() {
		l, err := s.API().Status().Leader()
		if err != nil || l == "" {
			return nil
		}
		if leader != "" && l != leader {
			return nil
		}
		leader = l
	}
	for _, s := range c.Servers {
		if s.RPCAddr() == leader && s.Running() {
			return s
		}
	}
	return nil
}

// Running returns the servers whose process is up.
func (c *Cluster) Running() []*Agent {
	var out []*Agent
	for _, s := range c.Servers {
		if s.Running() {
			out = append(out, s)
		}
	}
	return out
}

// WaitForLeader waits until the running servers agree on a running leader.
func (c *Cluster) WaitForLeader() *Agent {
	c.t.Helper()
	var leader *Agent
	testutil.WaitForResult(c.t, 60*time.Second, func() error {
		if leader = c.Leader(); leader == nil {
			return errors.New("no agreed leader among running servers")
		}
		return nil
	})
	return leader
}

// WaitForNodeStatus waits until the cluster reports the node with status.
func (c *Cluster) WaitForNodeStatus(nodeID, status string) *api.Node {
	c.t.Helper()
	var node *api.Node
	testutil.WaitForResult(c.t, 60*time.Second, func() error {
		srv := c.Running()
		if len(srv) == 0 {
			return errors.New("no server running")
		}
		n, _, err := srv[0].API().Nodes().Info(nodeID, nil)
		if err != nil {
			return err
		}
		if n.Status != status {
			return fmt.Errorf("node %s is %s, want %s", nodeID, n.Status, status)
		}
		node = n
		return nil
	})
	return node
}

// dumpLogs writes the tail of every agent's log to the test log.
func (c *Cluster) dumpLogs() {
	for _, a := range append(append([]*Agent{}, c.Servers...), c.Clients...) {
		lines := strings.Split(a.Log(), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		c.t.Logf("---- %s (last lines) ----\n%s", a.Name, strings.Join(lines, "\n"))
	}
}

// WriteConfig writes an HCL file into the cluster dir and returns its path.
func WriteConfig(t testing.TB, dir, name, hcl string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Grep counts lines of the agent's log containing s.
func (a *Agent) Grep(s string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(a.Log()))
	sc.Buffer(make([]byte, 1024*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}
