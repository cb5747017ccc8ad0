package testcluster

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/snapshot"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// clusterState is everything a backup must bring back, as the API shows
// it: pipelines and every revision, configs and every revision, ACL
// policies and tokens, nodes.
type clusterState struct {
	Pipelines         []*api.Pipeline
	AllRevisions      []*api.PipelineRevision
	PipelineRevisions map[string][]*api.PipelineRevision
	Configs           map[string]string
	ConfigRevisions   map[string][]*api.ConfigRevision
	Policies          map[string]*api.ACLPolicy
	Tokens            []*api.ACLTokenListStub
	Nodes             []string // ID name datacenter
}

// readState reads the whole clusterState through a.
func readState(t *testing.T, a *api.Client) *clusterState {
	t.Helper()
	s := &clusterState{PipelineRevisions: map[string][]*api.PipelineRevision{}, Configs: map[string]string{},
		ConfigRevisions: map[string][]*api.ConfigRevision{}, Policies: map[string]*api.ACLPolicy{}}
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Pipelines, _, err = a.Pipelines().List(nil)
	must(err)
	s.AllRevisions, _, err = a.Pipelines().ListAllRevisions(nil)
	must(err)
	for _, p := range s.Pipelines {
		s.PipelineRevisions[p.ID], _, err = a.Pipelines().ListRevisions(p.ID, nil)
		must(err)
	}
	names, _, err := a.Configs().List(nil)
	must(err)
	for _, n := range names {
		s.Configs[n], _, err = a.Configs().Get(n, nil)
		must(err)
		s.ConfigRevisions[n], _, err = a.Configs().Revisions(n, nil)
		must(err)
	}
	policies, _, err := a.ACLPolicies().List(nil)
	must(err)
	for _, p := range policies {
		s.Policies[p.Name], _, err = a.ACLPolicies().Info(p.Name, nil)
		must(err)
	}
	s.Tokens, _, err = a.ACLTokens().List(nil)
	must(err)
	nodes, _, err := a.Nodes().List(nil)
	must(err)
	for _, n := range nodes {
		s.Nodes = append(s.Nodes, n.ID+" "+n.Name+" "+n.Datacenter)
	}
	sort.Strings(s.Nodes)
	return s
}

// sameState fails the test unless got is want, naming the first part
// that differs.
func sameState(t *testing.T, what string, want, got *clusterState) {
	t.Helper()
	wv, gv := reflect.ValueOf(*want), reflect.ValueOf(*got)
	for i := 0; i < wv.NumField(); i++ {
		w, _ := json.Marshal(wv.Field(i).Interface())
		g, _ := json.Marshal(gv.Field(i).Interface())
		if !bytes.Equal(w, g) {
			t.Fatalf("%s: %s differ:\nwant %s\ngot  %s", what, wv.Type().Field(i).Name, w, g)
		}
	}
}

// fillState writes pipelines with several revisions each (and a deleted
// one), configs with revisions, ACL policies and tokens.
func fillState(t *testing.T, a *api.Client, tag string) {
	t.Helper()
	for i := 0; i < 4; i++ {
		p, _, err := a.Pipelines().Create(&api.Pipeline{Name: fmt.Sprintf("%s-p%d", tag, i),
			Contents: "// v1", Matchers: []string{`env="prod"`}}, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		for v := 2; v <= 3+i; v++ {
			p.Contents = fmt.Sprintf("// v%d", v)
			if _, _, err := a.Pipelines().Update(p, false, nil); err != nil {
				t.Fatal(err)
			}
		}
		if i == 3 {
			if _, err := a.Pipelines().Delete(p.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("%s/c%d", tag, i)
		for v := 0; v < 2; v++ {
			yaml := fmt.Sprintf("scrape_configs:\n- job_name: %s-%d-%d\n  static_configs:\n  - targets: ['localhost:9100']\n", tag, i, v)
			if _, _, err := a.Configs().Put(name, yaml, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range []struct{ name, rules string }{
		{tag + "-readonly", `pipeline { policy = "read" }`},
		{tag + "-operator", `operator { policy = "write" }`},
	} {
		if _, err := a.ACLPolicies().Upsert(&api.ACLPolicy{Name: p.name, Rules: p.rules}, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.ACLTokens().Create(&api.ACLToken{Name: p.name, Type: "client", Policies: []string{p.name}}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// cli runs the nomadlike binary against the agent at addr with token.
func cli(t *testing.T, addr, token string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(), api.AddressEnv+"="+addr, api.TokenEnv+"="+token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// rewriteArchive rebuilds an archive with state.bin changed by edit,
// keeping valid gzip and tar framing: only the checksum can catch it.
func rewriteArchive(t *testing.T, arch []byte, edit func([]byte)) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(arch))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if hdr.Name == "state.bin" {
			edit(b)
		}
		tw.WriteHeader(hdr)
		tw.Write(b)
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}

// TestSnapshot_SaveRestore is the Backups acceptance test: a backup of a
// 3-server cluster with ACLs on, pipelines with several revisions,
// configs, policies, tokens and a client node, restored into a fresh
// 3-server cluster and into the original one after more changes; damaged
// files are refused and change nothing.
func TestSnapshot_SaveRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven agent processes")
	}
	src := New(t, Options{Servers: 3, Clients: 1, ACL: true, ServerArgs: serverArgs(t, "")})
	leader := src.WaitForLeader()
	follower := src.followers(leader)[0]
	fillState(t, follower.API(), "src")
	want := readState(t, follower.API())
	if len(want.Nodes) != 1 || len(want.Pipelines) != 3 || len(want.AllRevisions) != 3+4+5+7 || len(want.Policies) != 3 {
		t.Fatalf("unexpected source state: %d nodes, %d pipelines, %d revisions, %d policies",
			len(want.Nodes), len(want.Pipelines), len(want.AllRevisions), len(want.Policies))
	}
	mgmt := src.Management.SecretID

	// Save with the CLI through a follower (the leader takes it).
	dir := t.TempDir()
	file := filepath.Join(dir, "backup.snap")
	if out, err := cli(t, follower.URL(), mgmt, "operator", "snapshot", "save", file); err != nil {
		t.Fatalf("snapshot save: %v\n%s", err, out)
	} else if !strings.Contains(out, "State file written to "+file) {
		t.Fatalf("snapshot save said: %s", out)
	}
	arch, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	// Inspect needs no agent and counts every record.
	out, err := cli(t, "http://127.0.0.1:1", "", "operator", "snapshot", "inspect", file)
	if err != nil {
		t.Fatalf("snapshot inspect: %v\n%s", err, out)
	}
	t.Logf("inspect:\n%s", out)
	for _, line := range []string{"Pipeline          3", "PipelineRevision  19", "Config            3",
		"ConfigRevision    6", "ACLPolicy         3", "Node              1"} {
		if !strings.Contains(out, line) {
			t.Fatalf("inspect output lacks %q:\n%s", line, out)
		}
	}
	for _, field := range []string{"ID ", "Size ", "Index ", "Term "} {
		if !strings.Contains(out, field) {
			t.Fatalf("inspect output lacks %q:\n%s", field, out)
		}
	}

	// The api through the client agent gives an archive just as good.
	rc, err := src.Clients[0].API().Operator().Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	viaClient, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snapshot.Verify(bytes.NewReader(viaClient)); err != nil {
		t.Fatalf("archive saved through the client agent: %v", err)
	}

	// Only a management token may save or restore.
	opTok, _, err := leader.API().ACLTokens().Create(&api.ACLToken{Name: "op", Type: "client",
		Policies: []string{"src-operator"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"", opTok.SecretID} {
		if code, body := call(t, "GET", follower.URL()+"/v1/operator/snapshot", tok); code != 403 || body != "Permission denied" {
			t.Fatalf("save with token %q: %d %q", tok, code, body)
		}
		if out, err := cli(t, follower.URL(), tok, "operator", "snapshot", "restore", file); err == nil ||
			!strings.Contains(out, "Permission denied") {
			t.Fatalf("restore with token %q: %v %s", tok, err, out)
		}
	}
	want = readState(t, follower.API()) // now with the op token

	// An upload past the bound is refused from its Content-Length.
	if code := hugeUpload(t, follower, mgmt); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge upload: %d, want 413", code)
	}

	// Restore into a fresh cluster, whose own management token it
	// replaces with the backup's.
	dst := New(t, Options{Servers: 3, ACL: true, ServerArgs: serverArgs(t, "")})
	dst.WaitForLeader()
	save2 := filepath.Join(dir, "with-op.snap")
	if out, err := cli(t, leader.URL(), mgmt, "operator", "snapshot", "save", save2); err != nil {
		t.Fatalf("snapshot save: %v\n%s", err, out)
	}
	if out, err := cli(t, dst.Servers[1].URL(), dst.Management.SecretID, "operator", "snapshot", "restore", save2); err != nil ||
		!strings.Contains(out, "Snapshot restored") {
		t.Fatalf("restore into the fresh cluster: %v\n%s", err, out)
	}
	dst.SetToken(mgmt)
	for _, s := range dst.Servers {
		sameState(t, "fresh cluster through "+s.Name, want, readState(t, s.API()))
	}
	if code, _ := call(t, "GET", dst.Servers[2].URL()+"/v1/acl/token/self", dst.Management.SecretID); code != 403 {
		t.Fatalf("the fresh cluster's own bootstrap token still works after the restore: %d", code)
	}
	// The restored state is every server's own, not only what the leader
	// answers: stale reads on each server agree once it has installed it.
	for _, s := range dst.Servers {
		testutil.WaitForResult(t, 30*time.Second, func() error {
			ps, _, err := s.API().Pipelines().List(&api.QueryOptions{AllowStale: true})
			if err != nil {
				return err
			}
			if len(ps) != len(want.Pipelines) {
				return fmt.Errorf("%s has %d pipelines (stale read)", s.Name, len(ps))
			}
			return nil
		})
	}

	// The restore is on every server's disk: the whole cluster restarts
	// into it (raft's log after a user restore starts past a gap).
	for _, s := range dst.Servers {
		s.Stop()
	}
	for _, s := range dst.Servers {
		s.Start()
	}
	dst.WaitForLeader()
	testutil.WaitForResult(t, 30*time.Second, func() error {
		_, _, err := dst.Servers[0].API().Pipelines().List(nil)
		return err
	})
	sameState(t, "fresh cluster after a restart", want, readState(t, dst.Servers[0].API()))
	if _, _, err := dst.Servers[0].API().Pipelines().Create(&api.Pipeline{Name: "after-restart", Contents: "// x"}, false, nil); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}

	// Restore into the running source cluster after more changes: the
	// state goes back, and a blocked watcher wakes with it.
	fillState(t, follower.API(), "later")
	if _, err := follower.API().ACLPolicies().Delete("src-readonly", nil); err != nil {
		t.Fatal(err)
	}
	_, qm, err := follower.API().Pipelines().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	type listed struct {
		ps  []*api.Pipeline
		qm  *api.QueryMeta
		err error
	}
	watch := make(chan listed, 1)
	go func() {
		ps, wqm, err := src.Clients[0].API().Pipelines().List(&api.QueryOptions{WaitIndex: qm.LastIndex, WaitTime: 2 * time.Minute})
		watch <- listed{ps, wqm, err}
	}()

	wm, err := leader.API().Operator().SnapshotRestore(nil, bytes.NewReader(mustRead(t, save2)))
	if err != nil {
		t.Fatal(err)
	}
	if wm.LastIndex <= qm.LastIndex {
		t.Fatalf("restore answered index %d, not past %d", wm.LastIndex, qm.LastIndex)
	}
	sameState(t, "restored running cluster", want, readState(t, follower.API()))
	select {
	case w := <-watch:
		if w.err != nil {
			t.Fatal(w.err)
		}
		if w.qm.LastIndex <= qm.LastIndex || len(w.ps) != len(want.Pipelines) {
			t.Fatalf("watcher woke with index %d (was %d) and %d pipelines", w.qm.LastIndex, qm.LastIndex, len(w.ps))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a blocking query did not wake up after the restore")
	}

	// Damaged files are refused with a clear message, and nothing changes.
	flipped := bytes.Clone(arch)
	flipped[len(flipped)/2] ^= 0x10
	// A state.bin that does not decode, under right checksums: raft
	// panics on a restore the FSM refuses, so the leader must find it
	// out before.
	var state bytes.Buffer
	meta, err := snapshot.Read(bytes.NewReader(arch), &state, 0)
	if err != nil {
		t.Fatal(err)
	}
	short := state.Bytes()[:state.Len()-5]
	meta.Size = int64(len(short))
	var undecodable bytes.Buffer
	if err := snapshot.Write(&undecodable, meta, bytes.NewReader(short)); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"undecodable": undecodable.Bytes(),
		"flipped":     flipped,
		"truncated":   arch[:len(arch)*2/3],
		"altered":     rewriteArchive(t, arch, func(b []byte) { b[len(b)/2] ^= 1 }),
		"empty":       {},
	} {
		path := filepath.Join(dir, name+".snap")
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := cli(t, follower.URL(), mgmt, "operator", "snapshot", "restore", path)
		if err == nil || !strings.Contains(out, "snapshot is corrupt") {
			t.Fatalf("%s file: restore gave %v\n%s", name, err, out)
		}
		if name == "altered" && !strings.Contains(out, "checksum mismatch for state.bin") {
			t.Fatalf("altered file: %s", out)
		}
		if out, err := cli(t, "http://127.0.0.1:1", "", "operator", "snapshot", "inspect", path); err == nil ||
			!strings.Contains(out, "snapshot is corrupt") {
			t.Fatalf("%s file: inspect gave %v\n%s", name, err, out)
		}
		req, _ := http.NewRequest("PUT", follower.URL()+"/v1/operator/snapshot", bytes.NewReader(bad))
		req.Header.Set("X-Nomad-Token", mgmt)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.HasPrefix(string(body), "snapshot is corrupt: ") {
			t.Fatalf("%s file over HTTP: %d %q", name, resp.StatusCode, body)
		}
	}
	sameState(t, "after refused restores", want, readState(t, follower.API()))
	for _, s := range src.Servers {
		if !s.Running() {
			t.Fatalf("%s died", s.Name)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hugeUpload announces a body past the bound and returns the status.
func hugeUpload(t *testing.T, a *Agent, token string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", a.HTTPPort), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "PUT /v1/operator/snapshot HTTP/1.1\r\nHost: x\r\nX-Nomad-Token: %s\r\nContent-Length: %d\r\n\r\n",
		token, int64(8)<<30)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
