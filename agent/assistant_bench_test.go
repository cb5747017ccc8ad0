package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// BenchmarkAssistantStreamedAnswer measures the trade-off of writing a
// streamed answer through Raft at most every chatUpdateInterval: an
// OpenAI-compatible backend streams tokens at a fixed rate, and a reader
// of the chat's SSE stream records when each token reaches it. Printed:
// raft entries and log bytes per answer against one entry per token, and
// the token-to-reader lag.
func BenchmarkAssistantStreamedAnswer(b *testing.B) {
	const tokens, rate = 400, 100 // tokens, tokens per second
	sent := make([]time.Time, tokens)
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		tick := time.NewTicker(time.Second / rate)
		defer tick.Stop()
		for i := range tokens {
			<-tick.C
			sent[i] = time.Now()
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t%04d \"},\"finish_reason\":null}]}\n\n", i)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer llm.Close()
	a := TestAgent(b, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.Assistant.Provider = &AssistantProviderConfig{Type: "openai", BaseURL: ptr(llm.URL + "/v1"), Model: ptr("m")}
	})
	WaitForAgentLeader(b, a)

	for b.Loop() {
		body := strings.NewReader(`{"prompt":"stream please"}`)
		resp, err := http.Post(a.URL()+"/api/v1/assistant/chats", "application/json", body)
		if err != nil {
			b.Fatal(err)
		}
		var out struct{ Data struct{ ChatID string } }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL()+"/api/events/chats/"+out.Data.ChatID, nil)
		sse, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		seen := make([]time.Time, tokens)
		updates, logBytes := 0, 0
		sc := bufio.NewScanner(sse.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			json.Unmarshal([]byte(line), &ev)
			if ev.Type == structs.ChatEventMessageUpdated {
				now := time.Now()
				updates++
				logBytes += len(ev.Data)
				var m structs.ChatMessage
				json.Unmarshal(ev.Data, &m)
				for i := range strings.Count(m.Text(), " ") {
					if seen[i].IsZero() {
						seen[i] = now
					}
				}
			}
			if ev.Type == structs.ChatEventExecutionCompleted || ev.Type == structs.ChatEventExecutionFailed {
				break
			}
		}
		sse.Body.Close()
		cancel()
		var lags []time.Duration
		for i := range tokens {
			if !seen[i].IsZero() {
				lags = append(lags, seen[i].Sub(sent[i]))
			}
		}
		slices.Sort(lags)
		if len(lags) == 0 {
			b.Fatal("no token reached the reader")
		}
		pct := func(p float64) time.Duration { return lags[int(p*float64(len(lags)-1))] }
		answer := tokens * len("t0000 ")
		fmt.Printf("\nStreamed answer: %d tokens at %d/s (%d bytes), one reader, update interval %s\n", tokens, rate, answer, 250*time.Millisecond)
		fmt.Printf("| | raft entries | log bytes of updates | token → reader p50 | p99 | max |\n|---|---|---|---|---|---|\n")
		fmt.Printf("| batched (built) | %d | %d | %s | %s | %s |\n", updates, logBytes, pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
		fmt.Printf("| one entry per token (for comparison) | %d | ~%d (whole message each time) | | | |\n", tokens, tokens*answer/2)
	}
}
