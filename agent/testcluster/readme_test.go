package testcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// readmeStep is one ```sh block of README.md and, when the block right
// after it is not a shell block, the output README shows for it.
type readmeStep struct {
	line    int // of the block's opening fence, for messages
	script  string
	want    string
	hasWant bool
}

// readmeBlock is one fenced block of README.md.
type readmeBlock struct {
	line int // of the opening fence
	lang string
	body string
	next int // index of the line after the closing fence
}

// readmeBlocks returns the fenced blocks of the README section headed
// "## title", in order.
func readmeBlocks(t *testing.T, title string) []readmeBlock {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	start := -1
	for i, l := range lines {
		if l == "## "+title {
			start = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatalf("README has no section %q", title)
	}
	var blocks []readmeBlock
	for i := start; i < len(lines) && !strings.HasPrefix(lines[i], "## "); i++ {
		if !strings.HasPrefix(lines[i], "```") {
			continue
		}
		b := readmeBlock{line: i + 1, lang: strings.TrimPrefix(lines[i], "```")}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		b.body, b.next = strings.Join(body, "\n"), i+1
		blocks = append(blocks, b)
	}
	return blocks
}

// readmeSection returns the steps of the README section headed
// "## title", in order; there must be some.
func readmeSection(t *testing.T, title string) []readmeStep {
	t.Helper()
	blocks := readmeBlocks(t, title)
	var steps []readmeStep
	for i, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		s := readmeStep{line: b.line, script: b.body}
		// Output shown for a block follows its closing fence at once.
		if i+1 < len(blocks) && blocks[i+1].lang != "sh" && blocks[i+1].line == b.next+1 {
			s.want, s.hasWant = blocks[i+1].body, true
		}
		steps = append(steps, s)
	}
	if len(steps) == 0 {
		t.Fatalf("README's %q lost its commands", title)
	}
	return steps
}

// readmeStarts are lines that start agents in the background (with their
// continuation lines), and `make dev`. One that starts a server (-server,
// -dev) stands for the agent the test started; a client is started as
// written, on the ports and data dir the test substitutes.
var readmeStarts = regexp.MustCompile(`(?m)^(make dev.*|bin/nomadlike agent (?:[^\n]*\\\n)*[^\n]*&[ \t]*(#.*)?)$`)

var readmeServerFlag = regexp.MustCompile(`\s-(dev|server)(\s|$)`)

func stripServerStarts(script string) string {
	return readmeStarts.ReplaceAllStringFunc(script, func(m string) string {
		if strings.HasPrefix(m, "make dev") || readmeServerFlag.MatchString(m) {
			return ":"
		}
		return m
	})
}

// readmeTimes are times (RFC 3339, and Go's default format) and
// readmeIDs UUIDs, which differ from run to run, as do the others below.
var (
	readmeTimes = regexp.MustCompile(`\d{4}-\d\d-\d\d(T| )\d\d:\d\d:\d\d(\.\d+)?(Z| \+0000 UTC)`)
	readmeIDs   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	// readmeShortIDs are the 8-character prefixes tables show.
	readmeShortIDs = regexp.MustCompile(`\b[0-9a-f]{8}\b`)
	// readmeIndexes are raft indexes the CLI shows: which entry a write
	// got depends on what the new leader wrote before it.
	readmeIndexes = regexp.MustCompile(`(?m)^((?:Create|Modify) Index\s*=\s*)\d+$`)
)

func normalizeReadme(s string) string {
	s = readmeTimes.ReplaceAllString(s, "<time>")
	s = readmeIDs.ReplaceAllString(s, "<uuid>")
	s = readmeIndexes.ReplaceAllString(s, "${1}<index>")
	s = readmeShortIDs.ReplaceAllStringFunc(s, func(id string) string {
		if strings.Trim(id, "0123456789") == "" {
			return id // a number
		}
		return "<id>"
	})
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		// protojson puts random spaces in its output (on purpose, so
		// that nobody depends on its bytes): JSON is compared compacted.
		var c bytes.Buffer
		if json.Compact(&c, []byte(l)) == nil {
			l = c.String()
		}
		out = append(out, strings.TrimRight(l, " \t"))
	}
	return strings.Join(out, "\n")
}

// runReadme runs steps against agent a (readmeSession.run): README's
// 127.0.0.1:4646 is a's HTTP address, and subst's other strings (ports,
// paths) what the test puts in their place; server starts are the agent
// the test started (readmeStarts).
func runReadme(t *testing.T, a *Agent, dir string, steps []readmeStep, subst ...string) {
	t.Helper()
	repl := strings.NewReplacer(append([]string{"127.0.0.1:4646", strings.TrimPrefix(a.URL(), "http://")}, subst...)...)
	readmeSession{dir: dir, env: []string{"NOMADLIKE_ADDR=" + a.URL()}, subst: repl.Replace}.run(t, steps)
}

// readmeSession is where README's commands run.
type readmeSession struct {
	dir string
	env []string // beside the test's own environment
	// subst turns README's ports, paths and IDs into the test's, in the
	// commands and in the output README shows alike.
	subst func(string) string
	// normalize, when set, is applied to both outputs after
	// normalizeReadme.
	normalize func(string) string
}

// run runs steps in order in one bash session, as a reader would type
// them (a variable set in one block is there in the next), with
// bin/nomadlike the binary under test. Every command must succeed, and a
// step with output in README must end with that output (times and UUIDs
// aside). Whatever the session leaves running is stopped when the test
// ends.
func (r readmeSession) run(t *testing.T, steps []readmeStep) {
	t.Helper()
	binary := regexp.MustCompile(`(^|[\s;($])bin/nomadlike\b`)
	var script strings.Builder
	for i, s := range steps {
		body := binary.ReplaceAllString(r.subst(stripServerStarts(s.script)), "${1}"+Binary(t))
		fmt.Fprintf(&script, "%s\necho %s%d\n", body, readmeMarker, i)
	}
	// A command that never returns fails the test in minutes, not at the
	// package's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script.String())
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), r.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Files, not pipes: an agent the commands leave running in the
	// background holds its copy of the session's output open.
	outPath, errPath := filepath.Join(t.TempDir(), "stdout"), filepath.Join(t.TempDir(), "stderr")
	out, stderr := readmeOutput(t, outPath), readmeOutput(t, errPath)
	cmd.Stdout, cmd.Stderr = out, stderr
	err := cmd.Start()
	out.Close()
	stderr.Close()
	if err == nil {
		t.Cleanup(func() { stopGroup(cmd.Process.Pid) })
		err = cmd.Wait()
	}
	t.Cleanup(func() { // the logs of agents the commands started
		logs, _ := filepath.Glob(filepath.Join(r.dir, "*.log"))
		for _, l := range logs {
			if b, _ := os.ReadFile(l); t.Failed() {
				t.Logf("%s:\n%s", l, b[max(0, len(b)-4000):])
			}
		}
	})
	printedAll, _ := os.ReadFile(outPath)
	stderrAll, _ := os.ReadFile(errPath)
	parts := strings.Split(string(printedAll), readmeMarker)
	for i, s := range steps {
		if i >= len(parts)-1 {
			t.Fatalf("README.md:%d: %v\n%s\nprinted:\n%s\nstderr:\n%s", s.line, err, s.script, parts[len(parts)-1], stderrAll)
		}
		printed := parts[i]
		if i > 0 { // the marker's step number and newline
			printed = printed[strings.IndexByte(printed, '\n')+1:]
		}
		if !s.hasWant {
			continue
		}
		got, want := normalizeReadme(printed), normalizeReadme(r.subst(s.want))
		if r.normalize != nil {
			got, want = r.normalize(got), r.normalize(want)
		}
		if !strings.HasSuffix(got, want) {
			t.Fatalf("README.md:%d shows\n%s\nbut the commands printed\n%s", s.line, want, got)
		}
	}
	if err != nil {
		t.Fatalf("README's commands: %v\nstderr:\n%s", err, stderrAll)
	}
}

const readmeMarker = "@@readme-step-"

func readmeOutput(t *testing.T, path string) *os.File {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stopGroup ends the processes of group pgid: SIGTERM, then SIGKILL
// for what is still there after 15 s.
func stopGroup(pgid int) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}

// README's quick start and its pipeline, collector, instance config,
// assignment and assistant walkthroughs work exactly as written, in that order, against a fresh server and client: README cannot drift
// from the CLI and the API without this test failing.
func TestReadme_SingleServerWalkthroughs(t *testing.T) {
	needReadmeTools(t)
	// The client stands for the assignment walkthrough's `agent -dev -meta
	// env=prod`.
	c := New(t, Options{Servers: 1, Clients: 1, ClientArgs: []string{"-meta", "env=prod"}})
	dir := t.TempDir()
	for _, section := range []string{"Quick start", "Pipelines", "Collectors (Grafana Alloy `remotecfg`)", "Agent instance configs", "Assignment", "Assistant"} {
		runReadme(t, c.Servers[0], dir, readmeSection(t, section))
	}
}

// README's ACL walkthrough works as written: a server started with its
// acl.hcl, bootstrap, a read-only token used in every form the HTTP API
// takes, and a client agent that registers with a node:write token.
func TestReadme_ACLWalkthrough(t *testing.T) {
	needReadmeTools(t)
	dir := t.TempDir()
	conf := ""
	for _, b := range readmeBlocks(t, "ACLs") {
		if b.lang == "hcl" {
			conf = b.body
			break
		}
	}
	if conf == "" {
		t.Fatal("README's ACL walkthrough lost its acl.hcl")
	}
	path := filepath.Join(dir, "acl.hcl")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewAgent(t, t.TempDir(), "demo", true, false, "-bootstrap-expect", "1", "-config", path)
	s.Start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", s.LogTail(40))
		}
	})
	clientPort := strconv.Itoa(testutil.FreePorts(t, 1)[0])
	runReadme(t, s, dir, readmeSection(t, "ACLs"),
		"127.0.0.1:4647", s.RPCAddr(), "4656", clientPort, "/tmp/acldemo-c1", filepath.Join(dir, "c1"))
}

func needReadmeTools(t *testing.T) {
	for _, prog := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("%s is needed to run README's commands (apt-get install %s)", prog, prog)
		}
	}
}

// readmeTranscript returns the commands of the section's plain blocks
// that show a session ("$ command", then what it printed) as steps.
func readmeTranscript(t *testing.T, title string) []readmeStep {
	t.Helper()
	var steps []readmeStep
	for _, b := range readmeBlocks(t, title) {
		if b.lang != "" {
			continue
		}
		for i, l := range strings.Split(b.body, "\n") {
			if cmd, ok := strings.CutPrefix(l, "$ "); ok {
				steps = append(steps, readmeStep{line: b.line + 1 + i, script: cmd, hasWant: true})
			} else if len(steps) > 0 && steps[len(steps)-1].line >= b.line {
				steps[len(steps)-1].want += l + "\n"
			}
		}
	}
	if len(steps) == 0 {
		t.Fatalf("README's %q lost its session", title)
	}
	return steps
}

// README's 3-server walkthrough works as written: scripts/dev-cluster.sh
// starts the cluster, any agent answers for it, and after a kill -9 of
// the leader a survivor leads, the nodes stay ready and gossip marks the
// dead server failed.
//
// Which server leads is up to the election, so the test renames README's
// servers: README's s2 (the leader it kills) is this run's first leader
// and README's s3 the leader elected after the kill; their ports, PIDs
// and names are rewritten in the commands and in the output README shows.
func TestReadme_ThreeServerWalkthrough(t *testing.T) {
	needReadmeTools(t)
	steps := readmeTranscript(t, "A 3-server cluster")
	if steps[0].script != "scripts/dev-cluster.sh" {
		t.Fatalf("README's 3-server session no longer starts with scripts/dev-cluster.sh: %q", steps[0].script)
	}
	readmePIDs := devClusterPIDs(steps[0].want)
	steps = steps[1:]
	kill := slices.IndexFunc(steps, func(s readmeStep) bool { return strings.HasPrefix(s.script, "kill -9 ") })
	if kill < 0 || kill+1 >= len(steps) {
		t.Fatal("README's 3-server session lost its kill -9 of the leader and the wait for a new one")
	}

	base := testutil.FreePortRange(t, 43)
	dir := t.TempDir()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "dev-cluster.sh")
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), fmt.Sprintf("NOMADLIKE_DEV_PORT_BASE=%d", base),
		"NOMADLIKE_BIN="+Binary(t), "NOMADLIKE_DEV_DIR="+dir, "NOMADLIKE_DEV_TIMEOUT=120")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	outPath := filepath.Join(t.TempDir(), "dev-cluster.out")
	out := readmeOutput(t, outPath)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Start()
	out.Close()
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { stopGroup(cmd.Process.Pid); <-exited })
	printed := func() string { b, _ := os.ReadFile(outPath); return string(b) }
	testutil.WaitForResult(t, 150*time.Second, func() error {
		select {
		case <-exited:
			t.Fatalf("scripts/dev-cluster.sh exited:\n%s", printed())
		default:
		}
		if !strings.Contains(printed(), "Press Ctrl-C") { // after the table of agents
			return fmt.Errorf("scripts/dev-cluster.sh is not up:\n%s", printed())
		}
		return nil
	})
	pids := devClusterPIDs(printed())
	if len(pids) != 5 || len(readmePIDs) != 5 {
		t.Fatalf("scripts/dev-cluster.sh's table, or README's, lacks an agent: %v, %v", pids, readmePIDs)
	}
	url := func(server int) string { return fmt.Sprintf("http://127.0.0.1:%d", base+10*server) }
	// leader is the index of the server that leads, as server s sees it,
	// once that is not server not.
	leader := func(s, not int) int {
		var l int
		testutil.WaitForResult(t, 30*time.Second, func() error {
			c, err := api.NewClient(&api.Config{Address: url(s)})
			if err != nil {
				return err
			}
			addr, err := c.Status().Leader()
			if err != nil {
				return err
			}
			_, port, _ := strings.Cut(addr, ":")
			p, _ := strconv.Atoi(port)
			if l = (p - base - 1) / 10; p != base+10*l+1 || l < 0 || l > 2 || l == not {
				return fmt.Errorf("leader %q: none of the servers, or not a new one", addr)
			}
			return nil
		})
		return l
	}
	// perm[i] is the server of this run README's s<i+1> stands for.
	first := leader(0, -1)
	perm := []int{-1, first, -1}
	for s := range 3 {
		if s != first {
			perm[slices.Index(perm, -1)] = s
		}
	}
	subst := devClusterSubst(t, base, perm, readmePIDs, pids, url(perm[0]))
	// README's session shows each node's assignment applied: the script
	// waits for the nodes to be ready, which comes a moment before.
	c, err := api.NewClient(&api.Config{Address: url(0)})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if a, _, err := c.Nodes().Assignment(n.ID, nil); err != nil || !a.Applied {
				return fmt.Errorf("%s has not applied its assignment (%v)", n.Name, err)
			}
		}
		return nil
	})
	sess := readmeSession{dir: t.TempDir(), normalize: normalizeRows}
	sess.subst, sess.env = subst(), []string{"NOMADLIKE_ADDR=" + url(perm[0])}
	sess.run(t, steps[:kill+2])

	// README's s3 is the leader elected after the kill.
	if second := leader(perm[0], perm[1]); second != perm[2] {
		perm[0], perm[2] = perm[2], perm[0]
	}
	sess.subst, sess.env = subst(), []string{"NOMADLIKE_ADDR=" + url(perm[0])}
	sess.run(t, steps[kill+2:])

	// The script reports the agent the reader killed.
	want := fmt.Sprintf("==> agent s%d (pid %s) exited", perm[1]+1, pids[fmt.Sprintf("s%d", perm[1]+1)])
	testutil.WaitForResult(t, 30*time.Second, func() error {
		if !strings.Contains(printed(), want) {
			return fmt.Errorf("scripts/dev-cluster.sh did not print %q:\n%s", want, printed())
		}
		return nil
	})
}

// devClusterPIDs reads the PIDs from scripts/dev-cluster.sh's table of
// agents.
func devClusterPIDs(out string) map[string]string {
	pids := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(s[1-3]|c[12])\s+(?:server|client)\s+(\d+)\s`).FindAllStringSubmatch(out, -1) {
		pids[m[1]] = m[2]
	}
	return pids
}

// devClusterSubst returns, for the current perm, what turns README's
// session into this run's: the ports of README's default base 5646 into
// base's, with README's s<i+1> standing for server perm[i], and so its
// PIDs and names, and README's node IDs into this run's.
func devClusterSubst(t *testing.T, base int, perm []int, readmePIDs, pids map[string]string, addr string) func() func(string) string {
	c, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	nodes, _, err := c.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	// README's node IDs, by node name, to this run's.
	readmeNodes := map[string]string{"c1": "a15e72ad", "c2": "80091fde"}
	nodeIDs := map[string]string{}
	for _, n := range nodes {
		if id, ok := readmeNodes[n.Name]; ok {
			nodeIDs[id] = n.ID[:8]
		}
	}
	if len(nodeIDs) != len(readmeNodes) {
		t.Fatalf("this run's nodes %v lack one of README's %v", nodes, readmeNodes)
	}
	return func() func(string) string {
		to := maps.Clone(nodeIDs)
		for i, s := range perm {
			to[readmePIDs[fmt.Sprintf("s%d", i+1)]] = pids[fmt.Sprintf("s%d", s+1)]
			to[fmt.Sprintf("s%d.global", i+1)] = fmt.Sprintf("s%d.global", s+1)
			for k := range 3 {
				to[strconv.Itoa(5646+10*i+k)] = strconv.Itoa(base + 10*s + k)
			}
		}
		for _, cl := range []string{"c1", "c2"} {
			to[readmePIDs[cl]] = pids[cl]
		}
		for p := 5676; p <= 5688; p++ {
			to[strconv.Itoa(p)] = strconv.Itoa(base + p - 5646)
		}
		return func(s string) string {
			return devClusterTokens.ReplaceAllStringFunc(s, func(tok string) string {
				if v, ok := to[tok]; ok {
					return v
				}
				return tok
			})
		}
	}
}

var devClusterTokens = regexp.MustCompile(`\b(s[1-3]\.global|[0-9a-f]{8}|\d+)\b`)

// normalizeRows compares tables and lists as sets: which server leads
// reorders their rows, and a wider port widens their columns.
func normalizeRows(s string) string {
	host, _ := os.Hostname()
	spaces := regexp.MustCompile(`[ \t]+`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = spaces.ReplaceAllString(l, " ")
		var list []string
		if json.Unmarshal([]byte(l), &list) == nil {
			slices.Sort(list)
			b, _ := json.Marshal(list)
			l = string(b)
		}
		// README's host had 2 cores and was called vm.
		l = strings.Replace(l, "hostname = vm", "hostname = "+host, 1)
		l = strings.Replace(l, "cpu.numcores = 2", fmt.Sprintf("cpu.numcores = %d", runtime.NumCPU()), 1)
		lines[i] = l
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
