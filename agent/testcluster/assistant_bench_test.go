package testcluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// sseDelivery is one chat event as a subscriber received it.
type sseDelivery struct {
	id, typ string
	at      time.Time
}

// sseSubscriber reads one chat stream and keeps every event it receives
// after the chat's history (its first AGENT_EXECUTION_COMPLETED).
type sseSubscriber struct {
	server int
	got    []sseDelivery
	err    error
}

// follow reads the stream until ctx ends; replayed tells when the history
// is read, completed each completion after it.
func (s *sseSubscriber) follow(ctx context.Context, client *http.Client, url string, replayed func(), completed chan<- struct{}) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		s.err = err
		replayed()
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.err = fmt.Errorf("stream: %s", resp.Status)
		replayed()
		return
	}
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	var id, typ string
	live := false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if ctx.Err() == nil {
				s.err = err
			}
			if !live {
				replayed()
			}
			return
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if typ == "" {
				continue
			}
			now := time.Now()
			if live {
				s.got = append(s.got, sseDelivery{id: id, typ: typ, at: now})
			}
			if typ == "AGENT_EXECUTION_COMPLETED" {
				if !live {
					live = true
					replayed()
				} else {
					completed <- struct{}{}
				}
			}
			id, typ = "", ""
		case bytes.HasPrefix(line, []byte("id: ")):
			id = string(line[4:])
		case bytes.HasPrefix(line, []byte(`data: {"type":"`)):
			rest := line[len(`data: {"type":"`):]
			if i := bytes.IndexByte(rest, '"'); i > 0 {
				typ = string(rest[:i])
			}
		}
	}
}

func durPct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(q*float64(len(d))))].Round(100 * time.Microsecond)
}

// BenchmarkAssistantSSE1000 holds 1,000 Server-Sent Events subscribers
// (spread over 3 server processes) on one chat while the built-in
// assistant, run by server 1, answers questions one after the other, and
// measures how each event reaches them: the spread of one event's
// delivery across subscribers (from its first delivery), and from each
// question's POST to each subscriber's AGENT_EXECUTION_COMPLETED; with the
// servers' CPU during the answers and their RSS. Figures are printed,
// never asserted; every subscriber must get every completion. The
// built-in assistant writes each answer at once: one MESSAGE_UPDATED per
// question, so the updates come from many questions.
func BenchmarkAssistantSSE1000(b *testing.B) {
	const subscribers = 1000
	prompts := []string{"Is the cluster healthy?", "help", "Which nodes are down?", "List pipelines",
		"What changed in the last hour?", "How many nodes are there?"}
	const rounds = 10 // questions asked = rounds * len(prompts)

	// 1,000 streams are 1,000 sockets here and ~333 in each server (the
	// servers inherit the limit).
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 8192 && lim.Max > lim.Cur {
		lim.Cur = min(lim.Max, 65536)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	// Every subscriber calls from 127.0.0.1 without a token: lift the
	// per-address connection cap and the assistant's per-caller limit.
	conf := assistantLimitsHCL + "limits {\n  http_max_conns_per_client = 0\n}\n"
	c := New(b, Options{Servers: 3, Clients: 1, ServerArgs: []string{"-config", WriteConfig(b, b.TempDir(), "bench.hcl", conf)}})
	poster := c.Servers[0]
	ask := func(prompt, chatID string) string {
		id, _, err := poster.API().Assistant().Ask(prompt, chatID, nil)
		if err != nil {
			b.Fatalf("asking %q: %v", prompt, err)
		}
		return id
	}
	chatID := ask("help", "")
	testutil.WaitForResult(b, 60*time.Second, func() error {
		ch, _, err := poster.API().Assistant().Chat(chatID, nil)
		if err != nil {
			return err
		}
		if ch.Execution == nil || ch.Execution.State == "running" {
			return fmt.Errorf("first answer still running")
		}
		return nil
	})

	// Subscribe; each replays the chat's history up to its first answer.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subs := make([]*sseSubscriber, subscribers)
	completed := make(chan struct{}, subscribers)
	var replayed, done sync.WaitGroup
	replayed.Add(subscribers)
	subscribeStart := time.Now()
	for i := range subs {
		s := &sseSubscriber{server: i % len(c.Servers)}
		subs[i] = s
		url := c.Servers[s.server].URL() + "/api/events/chats/" + chatID
		done.Add(1)
		go func() {
			defer done.Done()
			s.follow(ctx, client, url, sync.OnceFunc(replayed.Done), completed)
		}()
	}
	waitGroup(b, &replayed, 2*time.Minute, "1,000 subscribers replaying the chat")
	subscribed := time.Since(subscribeStart)
	for i, s := range subs {
		if s.err != nil {
			b.Fatalf("subscriber %d (server %d): %v", i, s.server+1, s.err)
		}
	}

	// Ask, one question after every subscriber has the last answer.
	var pids []int
	for _, s := range c.Servers {
		pids = append(pids, s.PID())
	}
	cpu0 := make([]time.Duration, len(pids))
	for i, pid := range pids {
		cpu0[i] = procCPU([]int{pid})
	}
	var posted []time.Time
	start := time.Now()
	for r := 0; r < rounds; r++ {
		for _, p := range prompts {
			posted = append(posted, time.Now())
			ask(p, chatID)
			deadline := time.After(time.Minute)
			for n := 0; n < subscribers; n++ {
				select {
				case <-completed:
				case <-deadline:
					b.Fatalf("question %d (%q): %d of %d subscribers got its AGENT_EXECUTION_COMPLETED within a minute", len(posted), p, n, subscribers)
				}
			}
		}
	}
	took := time.Since(start)
	cpu := make([]time.Duration, len(pids))
	rss := make([]int64, len(pids))
	for i, pid := range pids {
		cpu[i], rss[i] = procCPU([]int{pid})-cpu0[i], procRSS(pid)
	}
	leader := c.Leader()
	cancel()
	waitGroup(b, &done, 30*time.Second, "subscribers closing")

	// Fan-out lag: each delivery minus the event's first delivery.
	first := map[string]time.Time{}
	types := map[string]string{}
	for _, s := range subs {
		for _, d := range s.got {
			if f, ok := first[d.id]; !ok || d.at.Before(f) {
				first[d.id] = d.at
			}
			types[d.id] = d.typ
		}
	}
	var lagAll []time.Duration
	lagBy := make([][]time.Duration, len(c.Servers))
	var e2e, e2eFirst []time.Duration
	var perSub []int
	for _, s := range subs {
		k := 0
		for _, d := range s.got {
			lag := d.at.Sub(first[d.id])
			lagAll = append(lagAll, lag)
			lagBy[s.server] = append(lagBy[s.server], lag)
			if d.typ == "AGENT_EXECUTION_COMPLETED" {
				if k < len(posted) {
					e2e = append(e2e, d.at.Sub(posted[k]))
				}
				k++
			}
		}
		if k != len(posted) {
			b.Fatalf("a subscriber on server %d got %d completions, want %d", s.server+1, k, len(posted))
		}
		perSub = append(perSub, len(s.got))
	}
	// The first subscriber's completion of each question: what one
	// reader waits for the answer itself.
	var completions []string
	for id, typ := range types {
		if typ == "AGENT_EXECUTION_COMPLETED" {
			completions = append(completions, id)
		}
	}
	for i, id := range slices.SortedFunc(slices.Values(completions), func(a, b string) int { return strings.Compare(padID(a), padID(b)) }) {
		if i < len(posted) {
			e2eFirst = append(e2eFirst, first[id].Sub(posted[i]))
		}
	}
	count := map[string]int{}
	for _, typ := range types {
		count[typ]++
	}
	for _, d := range [][]time.Duration{lagAll, e2e, e2eFirst, lagBy[0], lagBy[1], lagBy[2]} {
		slices.Sort(d)
	}
	slices.Sort(perSub)

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "  %-9s %-22s %11s %9s %9s %15s %15s\n", "server", "role", "subscribers", "CPU s", "RSS MB", "fan-out p50", "fan-out p99")
	for i, s := range c.Servers {
		var role []string
		if leader != nil && leader.Name == s.Name {
			role = append(role, "leader")
		}
		if s == poster {
			role = append(role, "answers (POSTs)")
		}
		if len(role) == 0 {
			role = append(role, "follower")
		}
		n := 0
		for _, sub := range subs {
			if sub.server == i {
				n++
			}
		}
		fmt.Fprintf(&tbl, "  %-9s %-22s %11d %9.2f %9.0f %15s %15s\n", s.Name, strings.Join(role, ", "), n,
			cpu[i].Seconds(), float64(rss[i])/(1<<20), durPct(lagBy[i], 0.50), durPct(lagBy[i], 0.99))
	}
	fmt.Printf("\n%d SSE subscribers on one chat, over 3 servers; opened and replayed the chat's history in %s\n"+
		"%d questions to the built-in assistant, one after the other, in %s: %d events (%d MESSAGE_CREATED, %d AGENT_EXECUTION_STARTED, "+
		"%d MESSAGE_UPDATED, %d AGENT_EXECUTION_COMPLETED); events per subscriber min %d median %d max %d\n"+
		"fan-out lag (a subscriber's delivery of an event minus that event's first delivery to any subscriber; %d deliveries):\n"+
		"  p50 %s  p99 %s  max %s\n"+
		"end to end (POST of a question -> AGENT_EXECUTION_COMPLETED at each subscriber; %d):\n"+
		"  p50 %s  p99 %s  max %s   (at the first subscriber: p50 %s, max %s)\n"+
		"servers (CPU is utime+stime while the questions ran; RSS at the end; fan-out of that server's subscribers):\n%s"+
		"(measured in this process, which shares the machine's cores with the 3 servers and reads all 1,000 streams)\n",
		subscribers, subscribed.Round(time.Millisecond),
		len(posted), took.Round(time.Millisecond), len(types), count["MESSAGE_CREATED"], count["AGENT_EXECUTION_STARTED"],
		count["MESSAGE_UPDATED"], count["AGENT_EXECUTION_COMPLETED"], perSub[0], perSub[len(perSub)/2], perSub[len(perSub)-1],
		len(lagAll), durPct(lagAll, 0.50), durPct(lagAll, 0.99), durPct(lagAll, 1),
		len(e2e), durPct(e2e, 0.50), durPct(e2e, 0.99), durPct(e2e, 1), durPct(e2eFirst, 0.50), durPct(e2eFirst, 1),
		tbl.String())
}

// padID makes SSE ids ("<index>" or "<index>-<k>") sort in raft order as
// strings.
func padID(id string) string {
	idx, k, partial := strings.Cut(id, "-")
	if !partial {
		k = "99999999"
	}
	return fmt.Sprintf("%020s-%08s", idx, k)
}

// waitGroup waits for wg, failing after d.
func waitGroup(b *testing.B, wg *sync.WaitGroup, d time.Duration, what string) {
	b.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		b.Fatalf("%s: not done within %s", what, d)
	}
}
