package agent

import (
	"path/filepath"

	"github.com/nomadlike/nomadlike/agent/client"
	"github.com/nomadlike/nomadlike/agent/logs"
)

// validate checks client { logs {} } as far as it can without reading
// files: names, and each inline config as the logs subsystem reads it.
func (l *LogsConfig) validate(add func(string, ...any)) {
	seen := map[string]bool{}
	for _, in := range l.Instances {
		if checkInstanceBlock("client.logs.instance", in.Name, in.Config, in.ConfigFile, seen, add) {
			if _, err := logs.ParseInstanceConfig([]byte(*in.Config), in.Name); err != nil {
				add("client.logs.instance %q: %v", in.Name, err)
			}
		}
	}
}

// positionsDir is where positions files live.
func (l *LogsConfig) positionsDir(dataDir string) string {
	if *l.PositionsDirectory != "" {
		return *l.PositionsDirectory
	}
	return filepath.Join(dataDir, "logs")
}

// localSpecs reads the local logs instances.
func (l *LogsConfig) localSpecs() ([]logs.Spec, error) {
	var specs []logs.Spec
	for _, in := range l.Instances {
		text, err := instanceText("client.logs.instance", in.Name, in.Config, in.ConfigFile)
		if err != nil {
			return nil, err
		}
		specs = append(specs, logs.Spec{Name: in.Name, YAML: text, Source: "local"})
	}
	return specs, nil
}

// setupLogs starts the logs instances of the agent's config, before the
// client registers. An instance that does not start fails the agent's
// start, as a metrics one does.
func (a *Agent) setupLogs(cc *client.Config) error {
	lc := a.config.Client.Logs
	m, err := logs.New(logs.Options{PositionsDir: lc.positionsDir(*a.config.DataDir), Logger: a.logger})
	if err != nil {
		return err
	}
	specs, err := lc.localSpecs()
	if err == nil {
		err = m.Apply(specs)
	}
	if err != nil {
		m.Close()
		return err
	}
	a.logs = m
	// The client applies the assigned logs_instance_configs beside them.
	cc.Logs, cc.LocalLogs = m, specs
	return nil
}

// logsInstances are the running logs instances' names, sorted.
func (a *Agent) logsInstances() []string {
	if a.logs == nil {
		return []string{}
	}
	return a.logs.Instances()
}

// logsTargets are the running logs instances' targets.
func (a *Agent) logsTargets() []logs.Target {
	if a.logs == nil {
		return []logs.Target{}
	}
	return a.logs.Targets()
}
