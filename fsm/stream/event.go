// Package stream is the in-memory event broker of one server. The FSM
// publishes one Events batch per applied Raft entry; HTTP subscribers read
// filtered batches from a bounded buffer and receive them as newline
// delimited JSON (see WriteNDJSON). See DESIGN.md for the reasoning.
package stream

import "errors"

// AllKeys is the wildcard usable both as a topic and as a key in
// SubscribeRequest.Topics.
const AllKeys = "*"

// AllTopics is the wildcard topic. It equals AllKeys.
const AllTopics = AllKeys

var (
	// ErrSubscriptionClosed is returned by Subscription.Next once the
	// subscription has been closed by Unsubscribe, CloseAll or broker
	// shutdown. A client should subscribe again.
	ErrSubscriptionClosed = errors.New("subscription closed by server, client should resubscribe")

	// ErrBrokerClosed is returned by Subscribe after the broker's context
	// has been cancelled.
	ErrBrokerClosed = errors.New("event broker is closed")

	// ErrIndexNotBuffered is returned by Subscribe when StartExactlyAtIndex
	// is set and the broker cannot guarantee that every event after the
	// requested index is still available.
	ErrIndexNotBuffered = errors.New("requested index not in event buffer")
)

// Event is one change produced by applying a Raft entry. Field names match
// Nomad's event stream JSON.
type Event struct {
	Topic      string
	Type       string
	Key        string
	Namespace  string
	FilterKeys []string
	Index      uint64
	Payload    any
}

// Events is the batch of events produced by a single Raft apply.
type Events struct {
	Index  uint64
	Events []Event
}
