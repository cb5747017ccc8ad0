package nomadlike

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

func testBroker(t *testing.T) *evalBroker {
	b := newEvalBroker(time.Minute, 2)
	b.nackDelay = func(int) time.Duration { return 10 * time.Millisecond }
	b.SetEnabled(true)
	t.Cleanup(func() { b.SetEnabled(false) })
	return b
}

func dequeue(t *testing.T, b *evalBroker, types ...string) (*structs.Evaluation, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d, err := b.Dequeue(ctx, types)
	if err != nil {
		t.Fatalf("dequeue %v: %v", types, err)
	}
	return d.Eval, d.Token
}

func nodes(ids ...string) map[string]struct{} {
	m := map[string]struct{}{}
	for _, id := range ids {
		m[id] = struct{}{}
	}
	return m
}

// Evaluations for one key merge while they wait, and a new one waits
// while its key is outstanding: one outstanding evaluation per object.
func TestEvalBroker_OneOutstandingPerKey(t *testing.T) {
	b := testBroker(t)
	b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "nodes", NodeIDs: nodes("a"), StateIndex: 5})
	b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "nodes", NodeIDs: nodes("b"), StateIndex: 7})
	if st := b.Stats(); st.Ready != 1 {
		t.Fatalf("two evaluations for one key should merge: %+v", st)
	}
	e, token := dequeue(t, b, "pipeline")
	if len(e.NodeIDs) != 2 || e.StateIndex != 7 {
		t.Fatalf("merged evaluation %+v", e)
	}
	// Outstanding: a new one for the key waits; others do not.
	b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "nodes", NodeIDs: nodes("c")})
	b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "nodes"}) // all nodes
	b.Enqueue(&structs.Evaluation{Type: "config", Key: "configs"})
	if st := b.Stats(); st.Blocked != 1 || st.Ready != 1 || st.Unacked != 1 {
		t.Fatalf("stats %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	if _, err := b.Dequeue(ctx, []string{"pipeline"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second pipeline evaluation was delivered while the first is outstanding: %v", err)
	}
	cancel()
	if err := b.Ack(e.ID, token); err != nil {
		t.Fatal(err)
	}
	next, token2 := dequeue(t, b, "pipeline")
	if next.NodeIDs != nil {
		t.Fatalf("an all-nodes evaluation merged into a node one must stay all-nodes: %+v", next)
	}
	if err := b.Ack(e.ID, token); err == nil {
		t.Fatal("acking twice should fail")
	}
	if err := b.Ack(next.ID, token2); err != nil {
		t.Fatal(err)
	}
	if c, _ := dequeue(t, b, "pipeline", "config"); c.Type != "config" {
		t.Fatalf("got %+v", c)
	}
}

// A nack delivers again after a delay, up to the delivery limit; a worker
// that never answers is nacked by the timeout.
func TestEvalBroker_NackAndRedelivery(t *testing.T) {
	b := testBroker(t)
	b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "k"})
	e, token := dequeue(t, b, "pipeline")
	if err := b.Nack(e.ID, token); err != nil {
		t.Fatal(err)
	}
	again, token := dequeue(t, b, "pipeline")
	if again.ID != e.ID {
		t.Fatalf("redelivered %s, want %s", again.ID, e.ID)
	}
	if err := b.Nack(again.ID, token); err == nil {
		t.Fatal("the second nack reaches the delivery limit of 2 and should report the drop")
	}
	if st := b.Stats(); st.Failed != 1 || st.Ready+st.Delayed+st.Unacked != 0 {
		t.Fatalf("stats %+v", st)
	}

	b.nackTimeout = 30 * time.Millisecond
	b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "k2"})
	e, stale := dequeue(t, b, "pipeline")
	redelivered, token := dequeue(t, b, "pipeline")
	if redelivered.ID != e.ID {
		t.Fatal("an evaluation whose worker went quiet should be delivered again")
	}
	if err := b.Ack(e.ID, stale); !errors.Is(err, errUnknownDelivery) {
		t.Fatalf("ack with the token of the timed-out delivery: %v", err)
	}
	if err := b.Ack(e.ID, token); err != nil {
		t.Fatal(err)
	}
}

// Disabling (leadership lost) drops everything and wakes dequeuers.
// It runs in a synctest bubble: synctest.Wait returns once the dequeuer
// is blocked, so the test knows it disables a waiting dequeue.
func TestEvalBroker_Disable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(t)
		errCh := make(chan error, 1)
		go func() {
			_, err := b.Dequeue(context.Background(), []string{"pipeline"})
			errCh <- err
		}()
		synctest.Wait()
		select {
		case err := <-errCh:
			t.Fatalf("dequeue returned from an empty broker: %v", err)
		default:
		}
		b.SetEnabled(false)
		if err := <-errCh; !errors.Is(err, errBrokerDisabled) {
			t.Fatalf("dequeue: %v", err)
		}
		b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "k"})
		b.SetEnabled(true)
		if st := b.Stats(); st.Ready != 0 {
			t.Fatalf("a disabled broker took an evaluation: %+v", st)
		}
	})
}

// A worker that touches its delivery keeps it past the nack timeout; one
// that does not loses it (Lost closes) before it is redelivered, and the
// redelivered evaluation is a copy, not the first worker's object. In a
// synctest bubble the clock moves only when every goroutine waits, so
// touching every 30 ms against a 60 ms timeout is exact, not a race with
// a loaded machine.
func TestEvalBroker_TouchAndLost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := testBroker(t)
		b.nackTimeout = 60 * time.Millisecond
		b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "k", NodeIDs: nodes("a")})
		d, err := b.Dequeue(context.Background(), []string{"pipeline"})
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			time.Sleep(30 * time.Millisecond)
			if err := b.Touch(d.Eval.ID, d.Token); err != nil {
				t.Fatalf("touch: %v", err)
			}
		}
		select {
		case <-d.Lost:
			t.Fatal("a touched delivery was lost")
		default:
		}
		b.Enqueue(&structs.Evaluation{Type: "pipeline", Key: "k", NodeIDs: nodes("b")}) // blocked behind d
		select {
		case <-d.Lost:
		case <-time.After(2 * time.Second):
			t.Fatal("an untouched delivery was never lost")
		}
		if err := b.Touch(d.Eval.ID, d.Token); err == nil {
			t.Fatal("touching a lost delivery succeeded")
		}
		again, err := b.Dequeue(context.Background(), []string{"pipeline"})
		if err != nil {
			t.Fatal(err)
		}
		if again.Eval == d.Eval || len(d.Eval.NodeIDs) != 1 || len(again.Eval.NodeIDs) != 2 {
			t.Fatalf("first worker's evaluation %v changed or shared with the redelivery %v", d.Eval.NodeIDs, again.Eval.NodeIDs)
		}
		b.SetEnabled(false)
		select {
		case <-again.Lost:
		default:
			t.Fatal("disabling the broker did not end the outstanding delivery")
		}
	})
}
