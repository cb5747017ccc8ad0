package testcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
// readmeIDs UUIDs, which differ from run to run.
var (
	readmeTimes = regexp.MustCompile(`\d{4}-\d\d-\d\d(T| )\d\d:\d\d:\d\d(\.\d+)?(Z| \+0000 UTC)`)
	readmeIDs   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	// readmeShortIDs are the 8-character prefixes tables show.
	readmeShortIDs = regexp.MustCompile(`\b[0-9a-f]{8}\b`)
)

func normalizeReadme(s string) string {
	s = readmeTimes.ReplaceAllString(s, "<time>")
	s = readmeIDs.ReplaceAllString(s, "<uuid>")
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

// runReadme runs steps in order in dir, in one bash session as a reader
// would type them (a variable set in one block is there in the next):
// README's 127.0.0.1:4646 is a's HTTP address, bin/nomadlike the binary
// under test, and subst's other strings (ports, paths) what the test
// puts in their place; server starts are the agent the test started
// (readmeStarts). Every command must succeed, and a step with output in
// README must end with that output (times and UUIDs aside). Whatever
// the session leaves running is stopped when the test ends.
func runReadme(t *testing.T, a *Agent, dir string, steps []readmeStep, subst ...string) {
	t.Helper()
	repl := strings.NewReplacer(append([]string{"127.0.0.1:4646", strings.TrimPrefix(a.URL(), "http://")}, subst...)...)
	binary := regexp.MustCompile(`(^|[\s;($])bin/nomadlike\b`)
	var script strings.Builder
	for i, s := range steps {
		body := binary.ReplaceAllString(repl.Replace(stripServerStarts(s.script)), "${1}"+Binary(t))
		fmt.Fprintf(&script, "%s\necho %s%d\n", body, readmeMarker, i)
	}
	// A command that never returns fails the test in minutes, not at the
	// package's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script.String())
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NOMADLIKE_ADDR="+a.URL())
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
		logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
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
		got, want := normalizeReadme(printed), normalizeReadme(repl.Replace(s.want))
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

// README's quick start and its pipeline, collector, instance config and
// assignment walkthroughs work exactly as written, in that order, against a fresh server and client: README cannot drift
// from the CLI and the API without this test failing.
func TestReadme_SingleServerWalkthroughs(t *testing.T) {
	needReadmeTools(t)
	// The client stands for the assignment walkthrough's `agent -dev -meta
	// env=prod`.
	c := New(t, Options{Servers: 1, Clients: 1, ClientArgs: []string{"-meta", "env=prod"}})
	dir := t.TempDir()
	for _, section := range []string{"Quick start", "Pipelines", "Collectors (Grafana Alloy `remotecfg`)", "Agent instance configs", "Assignment"} {
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
