package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/agent/testcluster"
	"github.com/nomadlike/nomadlike/api"
)

// opTimeout bounds one client request. It is shorter than the shortest
// pause, so that clients keep working through a pause (a client blocked
// on the paused leader issues nothing, and with every client blocked the
// new leader would see no writes), while the requests sent in the pause's
// last 1.5 s are still waiting when the leader resumes: the stale-leader
// case this suite exists to catch.
const opTimeout = 1500 * time.Millisecond

// recorder collects the history of a run; it is shared by the clients.
type recorder struct {
	start time.Time
	mu    sync.Mutex
	ops   []op
	procs int
}

func newRecorder() *recorder { return &recorder{start: time.Now()} }

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

// newProc hands out porcupine client IDs. A client whose write ended with
// an unknown outcome takes a new one, since its old request may still be
// pending (Jepsen does the same with its process numbers).
func (r *recorder) newProc() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.procs++
	return r.procs - 1
}

func (r *recorder) add(o op) {
	r.mu.Lock()
	r.ops = append(r.ops, o)
	r.mu.Unlock()
}

func (r *recorder) history() []op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]op(nil), r.ops...)
}

// register is one key of the workload: a pipeline, by name and ID.
type register struct {
	name string
	id   string
}

// apiClient talks to one agent with a bounded request time, so that a
// paused or unreachable server cannot hang its caller.
func apiClient(a *testcluster.Agent, timeout time.Duration) *api.Client {
	c, err := api.NewClient(&api.Config{Address: a.URL(), Token: a.Token, HttpClient: &http.Client{Timeout: timeout}})
	if err != nil {
		panic(err) // the address is ours and valid
	}
	return c
}

// client is one workload goroutine: random reads and writes of random
// keys through random servers, each recorded with its real-time interval.
type client struct {
	id      int
	rng     *rand.Rand
	rec     *recorder
	keys    []register
	servers []*testcluster.Agent
	apis    []*api.Client
	stats   *runStats
}

func (c *client) run(ctx context.Context) {
	proc := c.rec.newProc()
	seq := 0
	for ctx.Err() == nil {
		key := c.keys[c.rng.IntN(len(c.keys))]
		s := c.rng.IntN(len(c.servers))
		if c.rng.IntN(2) == 0 {
			seq++
			if c.write(proc, key, s, fmt.Sprintf("// w-%d-%d", c.id, seq)) {
				proc = c.rec.newProc()
			}
		} else {
			c.read(proc, key, s)
		}
		// Think time keeps the load (and porcupine's search) modest on
		// a shared 2-core machine; it is pacing, not synchronisation.
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(5+c.rng.IntN(20)) * time.Millisecond):
		}
	}
}

// write upserts the key's contents to a value no other write uses, so
// that a write applied twice shows up when it overwrites a later one. It
// reports whether the outcome was unknown.
func (c *client) write(proc int, key register, s int, value string) bool {
	o := op{proc: proc, key: key.name, write: true, value: value, server: c.servers[s].Name, call: c.rec.now()}
	_, _, err := c.apis[s].Pipelines().Upsert(&api.Pipeline{Name: key.name, Contents: value}, nil)
	o.ret = c.rec.now()
	switch {
	case err == nil:
		c.stats.add(func(st *runStats) { st.WritesOK++ })
	case errors.Is(err, syscall.ECONNREFUSED):
		// Nothing was sent: the write certainly did not happen.
		c.stats.add(func(st *runStats) { st.WritesFailed++ })
		return false
	default:
		// A timeout, a reset connection or any error answer: the entry
		// may still be (or have been) committed.
		o.indeterminate, o.err = true, err.Error()
		c.stats.add(func(st *runStats) { st.WritesIndeterminate++ })
	}
	c.rec.add(o)
	return o.indeterminate
}

// read gets the key with the default consistency. A read that fails
// changed nothing and is left out of the history.
func (c *client) read(proc int, key register, s int) {
	o := op{proc: proc, key: key.name, server: c.servers[s].Name, call: c.rec.now()}
	p, _, err := c.apis[s].Pipelines().Get(key.id, nil)
	o.ret = c.rec.now()
	switch {
	case err == nil:
		o.value = p.Contents
	case api.IsNotFound(err):
		// Absent is an answer: the register was never written.
	default:
		c.stats.add(func(st *runStats) { st.ReadsFailed++ })
		return
	}
	c.stats.add(func(st *runStats) { st.Reads++ })
	c.rec.add(o)
}
