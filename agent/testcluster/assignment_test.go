package testcluster

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/nomadlike/validate"
	"github.com/nomadlike/nomadlike/structs"
)

// reloads counts POSTs to /<client>/-/reload, as collectors' reload
// endpoints would see them.
type reloads struct {
	mu     sync.Mutex
	counts map[string]int
	srv    *httptest.Server
}

func newReloads(t *testing.T) *reloads {
	r := &reloads{counts: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name, ok := strings.CutSuffix(strings.TrimPrefix(req.URL.Path, "/"), "/-/reload")
		if req.Method != http.MethodPost || !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		r.mu.Lock()
		r.counts[name]++
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *reloads) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[name]
}

// assignmentClient starts a client with env=<env>, a pipeline file in its
// own directory and the reload URL.
func assignmentClient(t *testing.T, c *Cluster, r *reloads, name, env string) (*Agent, string) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pipelines.alloy")
	cfg := WriteConfig(t, dir, "client.hcl", fmt.Sprintf("client {\n  pipeline_file = %q\n  reload_url = %q\n}\n",
		file, r.srv.URL+"/"+name+"/-/reload"))
	cl := c.AddClient(name, nil, "-meta", "env="+env, "-config", cfg)
	c.WaitForNodeStatus(cl.NodeID(), "ready")
	return cl, file
}

func readFile(path string) string {
	buf, _ := os.ReadFile(path)
	return string(buf)
}

// 3 servers and 3 clients: a pipeline for env="prod" reaches exactly the
// prod clients' pipeline files within 2 s; updates, disables and deletes
// follow; the reload URL is called once per change; a client killed and
// restarted gets the same assignment back without a reload.
func TestCluster_PipelineAssignment(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	c.WaitForLeader()
	r := newReloads(t)
	type client struct {
		a    *Agent
		file string
		env  string
	}
	var clients []client
	for i, env := range []string{"prod", "prod", "dev"} {
		a, file := assignmentClient(t, c, r, fmt.Sprintf("client-%d", i+1), env)
		clients = append(clients, client{a, file, env})
	}
	// Each client applies its (empty) assignment once at start.
	testutil.WaitForResult(t, 10*time.Second, func() error {
		for _, cl := range clients {
			if n := r.count(cl.a.Name); n != 1 {
				return fmt.Errorf("%s reloaded %d times at start", cl.a.Name, n)
			}
		}
		return nil
	})
	pipes := c.Servers[1].API().Pipelines()
	expect := func(step, contents string, prodReloads int) {
		t.Helper()
		start := time.Now()
		testutil.WaitForResult(t, 2*time.Second, func() error {
			for _, cl := range clients {
				got := readFile(cl.file)
				if cl.env == "prod" && contents != "" && !strings.Contains(got, contents) {
					return fmt.Errorf("%s: %s's pipeline file is %q", step, cl.a.Name, got)
				}
				if (cl.env == "dev" || contents == "") && strings.Contains(got, "declare") {
					return fmt.Errorf("%s: %s's pipeline file is %q", step, cl.a.Name, got)
				}
				want := 1
				if cl.env == "prod" {
					want = prodReloads
				}
				if n := r.count(cl.a.Name); n != want {
					return fmt.Errorf("%s: %s reloaded %d times, want %d", step, cl.a.Name, n, want)
				}
			}
			return nil
		})
		t.Logf("%s reached every client in %s", step, time.Since(start).Round(time.Millisecond))
	}

	p, _, err := pipes.Create(&api.Pipeline{Name: "prod-metrics", Contents: "prometheus.exporter.self \"v1\" { }", Matchers: []string{`env="prod"`}}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	expect("create", `prometheus.exporter.self "v1" { }`, 2)
	p.Contents = "prometheus.exporter.self \"v2\" { }"
	if _, _, err := c.Servers[2].API().Pipelines().Update(p, false, nil); err != nil {
		t.Fatal(err)
	}
	expect("update", `prometheus.exporter.self "v2" { }`, 3)
	p.Enabled = ptrBool(false)
	if _, _, err := pipes.Update(p, false, nil); err != nil {
		t.Fatal(err)
	}
	expect("disable", "", 4)
	p.Enabled = ptrBool(true)
	if _, _, err := pipes.Update(p, false, nil); err != nil {
		t.Fatal(err)
	}
	expect("enable", `prometheus.exporter.self "v2" { }`, 5)

	// Kill -9 a prod client and start it again: same file, no reload,
	// and it reports the assignment applied.
	victim := clients[0]
	victim.a.Kill()
	victim.a.Start()
	c.WaitForNodeStatus(victim.a.NodeID(), "ready")
	testutil.WaitForResult(t, 5*time.Second, func() error {
		a, _, err := c.Servers[0].API().Nodes().Assignment(victim.a.NodeID(), nil)
		if err != nil {
			return err
		}
		if !a.Applied || len(a.PipelineIDs) != 1 || a.PipelineIDs[0] != p.ID {
			return fmt.Errorf("assignment after restart %+v", a)
		}
		return nil
	})
	expect("restart", `prometheus.exporter.self "v2" { }`, 5)

	if _, err := pipes.Delete(p.ID, nil); err != nil {
		t.Fatal(err)
	}
	expect("delete", "", 6)
}

func ptrBool(b bool) *bool { return &b }

// Kill -9 the leader while 100 pipelines change: once a new leader
// settles, every client has applied exactly what the matchers imply.
func TestCluster_AssignmentSurvivesLeaderKill(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	leader := c.WaitForLeader()
	r := newReloads(t)
	envs := []string{"prod", "dev", "prod"}
	var nodeIDs []string
	for i, env := range envs {
		a, _ := assignmentClient(t, c, r, fmt.Sprintf("client-%d", i+1), env)
		nodeIDs = append(nodeIDs, a.NodeID())
	}
	const total = 100
	var next atomic.Int64
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				if i == total/3 {
					once.Do(func() { close(killed) })
				}
				env := []string{"prod", "dev", "staging"}[rand.N(3)]
				// Retried until acknowledged, against any live server.
				for attempt := 0; attempt < 50; attempt++ {
					s := c.Servers[rand.N(3)]
					if s == leader && isClosed(killed) {
						continue
					}
					_, _, err := s.API().Pipelines().Upsert(&api.Pipeline{
						Name: fmt.Sprintf("p-%03d", i%40), Contents: fmt.Sprintf("// change %d", i),
						Matchers: []string{fmt.Sprintf("env=%q", env)}, Enabled: ptrBool(i%7 != 0),
					}, nil)
					if err == nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	<-killed
	leader.Kill()
	wg.Wait()
	c.WaitForLeader()
	live := c.Running()[0].API()

	// What the matchers imply, from the final pipelines.
	want := func() map[string]string {
		list, _, err := live.Pipelines().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		byEnv := map[string][]*structs.Pipeline{}
		slices.SortFunc(list, func(a, b *api.Pipeline) int { return strings.Compare(a.Name, b.Name) })
		for _, env := range []string{"prod", "dev"} {
			for _, p := range list {
				ms, err := validate.ParseMatchers(p.Matchers)
				if err != nil {
					t.Fatal(err)
				}
				if p.Enabled != nil && *p.Enabled && validate.MatchAll(ms, map[string]string{"env": env}) {
					byEnv[env] = append(byEnv[env], &structs.Pipeline{ID: p.ID, Name: p.Name, Contents: p.Contents})
				}
			}
		}
		out := map[string]string{}
		for _, env := range []string{"prod", "dev"} {
			_, out[env] = structs.MergePipelines(byEnv[env])
		}
		return out
	}()
	testutil.WaitForResult(t, 20*time.Second, func() error {
		for i, id := range nodeIDs {
			a, _, err := live.Nodes().Assignment(id, nil)
			if err != nil {
				return err
			}
			if a.Hash != want[envs[i]] || a.AppliedHash != want[envs[i]] || !a.Applied {
				return fmt.Errorf("client-%d (%s): assigned %.12s applied %.12s, matchers imply %.12s",
					i+1, envs[i], a.Hash, a.AppliedHash, want[envs[i]])
			}
		}
		return nil
	})
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
