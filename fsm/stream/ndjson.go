package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// DefaultHeartbeat is the idle interval after which WriteNDJSON sends a
// heartbeat line, as Nomad does.
const DefaultHeartbeat = 10 * time.Second

// heartbeatLine is the frame sent when the stream has been idle.
var heartbeatLine = []byte("{}\n")

// WriteNDJSON copies sub to w as newline-delimited JSON until ctx ends or
// the subscription is closed. Every batch becomes exactly one Write of one
// line, {"Index":N,"Events":[{"Topic":..,"Type":..,"Key":..,"Namespace":..,
// "FilterKeys":..,"Index":..,"Payload":..}]}, and after heartbeat without a
// batch (DefaultHeartbeat if <= 0) the line {} is written. flush (may be nil)
// runs once at the start, so headers reach the client, and after every line.
//
// It returns nil when ctx is done, ErrSubscriptionClosed when the broker or
// Unsubscribe closed sub (the handler should end the response so the client
// reconnects), or the write/encoding error. It does not Unsubscribe; it
// calls sub.Next from a helper goroutine, which has exited by the time it
// returns, so the caller must not call sub.Next concurrently.
func WriteNDJSON(ctx context.Context, w io.Writer, flush func(), sub *Subscription, heartbeat time.Duration) error {
	if heartbeat <= 0 {
		heartbeat = DefaultHeartbeat
	}
	if flush == nil {
		flush = func() {}
	}

	type result struct {
		events Events
		err    error
	}
	pumpCtx, cancel := context.WithCancel(ctx)
	results := make(chan result)
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		for {
			ev, err := sub.Next(pumpCtx)
			select {
			case results <- result{ev, err}:
			case <-pumpCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-pumpDone
	}()

	flush()
	timer := time.NewTimer(heartbeat)
	defer timer.Stop()

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)

	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-results:
			if r.err != nil {
				if ctx.Err() != nil && !errors.Is(r.err, ErrSubscriptionClosed) {
					return nil
				}
				return r.err
			}
			buf.Reset()
			if err := enc.Encode(r.events); err != nil { // Encode appends '\n'
				return fmt.Errorf("encoding events at index %d: %w", r.events.Index, err)
			}
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
			flush()
			timer.Reset(heartbeat)
		case <-timer.C:
			if _, err := w.Write(heartbeatLine); err != nil {
				return err
			}
			flush()
			timer.Reset(heartbeat)
		}
	}
}
