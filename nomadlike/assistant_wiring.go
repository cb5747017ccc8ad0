package nomadlike

import (
	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/assistant"
)

// defaultAssistantEngine is the built-in assistant: no external service.
func defaultAssistantEngine() assistant.Engine { return assistant.Builtin{} }

// newAssistantTools are the assistant's tools bound to the caller's
// token: every call is this server's own RPC endpoint with that token, so
// an answer can never show what the token may not see.
func newAssistantTools(s *Server, token string) assistant.Tools {
	return assistant.NewTools(assistant.Backend{
		RPC:       s.RPC,
		Queryable: func() storage.Queryable { return s.HostMetricsQueryable(token) },
		Token:     token,
		ForceLeave: func(name string) error {
			if err := s.authorize(token, acl.AgentWrite); err != nil {
				return err
			}
			return s.ForceLeave(name, false, token)
		},
	})
}
