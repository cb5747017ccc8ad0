package api

// LogsTarget is one target of an agent's logs instances (GET
// /agent/api/v1/logs/targets): a glob of files, and the byte offset up to
// which each matched file was pushed.
type LogsTarget struct {
	Instance         string            `json:"instance"`
	TargetGroup      string            `json:"target_group"`
	Type             string            `json:"type"`
	Labels           map[string]string `json:"labels"`
	DiscoveredLabels map[string]string `json:"discovered_labels"`
	Ready            bool              `json:"ready"`
	Details          map[string]int64  `json:"details"`
}

// LogsInstances lists the logs instances the agent runs (GET
// /agent/api/v1/logs/instances).
func (a *Agent) LogsInstances() ([]string, error) {
	out := []string{}
	if _, err := a.client.envelopeQuery("/agent/api/v1/logs/instances", &out, nil); err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// LogsTargets lists the agent's logs targets with their files' offsets
// (GET /agent/api/v1/logs/targets).
func (a *Agent) LogsTargets() ([]*LogsTarget, error) {
	out := []*LogsTarget{}
	if _, err := a.client.envelopeQuery("/agent/api/v1/logs/targets", &out, nil); err != nil {
		return nil, err
	}
	if out == nil {
		out = []*LogsTarget{}
	}
	return out, nil
}
