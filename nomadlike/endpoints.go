package nomadlike

// registerEndpoints registers every RPC endpoint with the server's net/rpc
// server, one type per resource.
func (s *Server) registerEndpoints() error {
	for name, ep := range map[string]any{
		"Status":      &Status{srv: s},
		"Node":        &NodeEndpoint{srv: s},
		"Operator":    &Operator{srv: s},
		"ACL":         &ACLEndpoint{srv: s},
		"Pipeline":    &PipelineEndpoint{srv: s},
		"Config":      &ConfigEndpoint{srv: s},
		"Collector":   &CollectorEndpoint{srv: s},
		"Agent":       &AgentEndpoint{srv: s},
		"HostMetrics": &HostMetricsEndpoint{srv: s},
		"Assistant":   &AssistantEndpoint{srv: s},
	} {
		if err := s.rpcServer.RegisterName(name, ep); err != nil {
			return err
		}
	}
	return nil
}
