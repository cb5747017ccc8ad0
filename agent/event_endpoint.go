package agent

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

// Event topics a caller without a management token may stream, each with
// the capability it needs. They are the topic names the FSM publishes.
// EventStreamRequest streams the events of the local server's broker as
// newline-delimited JSON, Nomad's /v1/event/stream: ?topic=Topic or
// ?topic=Topic:Key (repeatable; all topics when absent), ?index=N to resume
// after index N, ?namespace=. A heartbeat line {} follows every 10 s of
// silence. The stream ends when the client goes away or the server closes
// the subscription (after a snapshot restore); the client then reconnects
// with the last index it saw.
// errEventsOnServers answers an event stream asked of a client-only
// agent, which has no event broker: it says where to ask instead of
// Nomad's bare "Invalid method".
var errEventsOnServers = structs.NewErrCoded(http.StatusNotImplemented,
	"event streams are served by server agents: ask a server's HTTP API (this agent is a client only)")

func (s *HTTPServer) EventStreamRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	if s.agent.server == nil {
		return nil, errEventsOnServers
	}
	query := req.URL.Query()
	topics, err := parseEventTopics(query["topic"])
	if err != nil {
		return nil, err
	}
	var index uint64
	if v := query.Get("index"); v != "" {
		if index, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "Unable to parse index: %v", err)
		}
	}
	if s.agent.aclEnabled() {
		a, _, err := s.agent.resolveToken(tokenFromRequest(req))
		if err != nil {
			return nil, err
		}
		if !a.IsManagement() {
			// The route let through pipeline:read + config:read;
			// such a caller sees only those two topics.
			if topics, err = narrowTopics(topics); err != nil {
				return nil, err
			}
		}
	}
	sub, err := s.agent.server.EventBroker().Subscribe(&stream.SubscribeRequest{Topics: topics, Index: index, Namespace: query.Get("namespace")})
	if err != nil {
		if errors.Is(err, stream.ErrBrokerClosed) {
			return nil, structs.ErrShutdown
		}
		return nil, err
	}
	defer sub.Unsubscribe()

	resp.Header().Set("Content-Type", "application/json")
	resp.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(resp)
	err = stream.WriteNDJSON(req.Context(), resp, func() { rc.Flush() }, sub, stream.DefaultHeartbeat)
	if err != nil && !errors.Is(err, stream.ErrSubscriptionClosed) {
		s.logger.Debug("event stream ended", "error", err)
	}
	return nil, nil
}

// parseEventTopics reads ?topic= values, Topic or Topic:Key (the key may
// contain ':'). No value means every topic.
func parseEventTopics(values []string) (map[string][]string, error) {
	if len(values) == 0 {
		return map[string][]string{stream.AllTopics: {stream.AllKeys}}, nil
	}
	topics := map[string][]string{}
	for _, v := range values {
		topic, key, hasKey := strings.Cut(v, ":")
		if !hasKey {
			key = stream.AllKeys
		}
		if topic == "" || key == "" {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "Invalid topic %q: want Topic or Topic:Key", v)
		}
		topics[topic] = append(topics[topic], key)
	}
	return topics, nil
}

// narrowTopics limits a subscription to the topics a non-management
// caller may read: the wildcard topic stands for those, any other topic is
// refused.
func narrowTopics(topics map[string][]string) (map[string][]string, error) {
	out := map[string][]string{}
	for topic, keys := range topics {
		switch topic {
		case stream.AllTopics:
			out[fsm.TopicPipeline] = append(out[fsm.TopicPipeline], keys...)
			out[fsm.TopicConfig] = append(out[fsm.TopicConfig], keys...)
		case fsm.TopicPipeline, fsm.TopicConfig:
			out[topic] = append(out[topic], keys...)
		default:
			return nil, structs.ErrPermissionDenied
		}
	}
	return out, nil
}
