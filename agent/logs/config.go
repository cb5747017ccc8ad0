// Package logs is the agent's logs subsystem: instances that tail files
// matched by __path__ globs and push their lines to a Loki push API, with
// the byte offset of each file kept in a positions file so that a restart
// neither loses nor repeats a line. See DESIGN.md.
package logs

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/nomadlike/nomadlike/nomadlike/validate"
)

// Spec is one instance to run: a Grafana Agent logs instance config (the
// Promtail subset DESIGN.md lists) by name, as YAML.
type Spec struct {
	Name string
	// YAML is the instance config; its name key, if any, is ignored.
	YAML []byte
	// Source says where it comes from ("local" from the agent's config,
	// or "assigned"), for logs and status.
	Source string
}

// InstanceConfig and ClientConfig are the config API's types: the servers
// that store a logs_instance_config and the agents that run it read it
// with the same parser.
type (
	InstanceConfig = validate.LogsInstanceConfig
	ClientConfig   = validate.LogsClientConfig
)

// ParseInstanceConfig reads a logs instance config strictly and fills in
// its defaults; name replaces the body's.
func ParseInstanceConfig(b []byte, name string) (*InstanceConfig, error) {
	return validate.ParseLogsInstanceConfig(b, name)
}

// filenameLabel is the label each stream gets: the file's path.
const filenameLabel = "filename"

// specHash identifies a spec: an instance whose hash is unchanged keeps
// running through an Apply. It is taken over the YAML as written, whose
// secrets a re-encoding would hide.
func specHash(yaml []byte, positionsFile string) string {
	h := sha256.New()
	h.Write(yaml)
	h.Write([]byte{0})
	h.Write([]byte(positionsFile))
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// targetSpec is one target: a static config's address with its labels.
type targetSpec struct {
	job        string
	address    string
	glob       string
	labels     model.LabelSet // what its streams carry, besides filename
	discovered map[string]string
}

// targetsOf are c's targets in config order.
func targetsOf(c *InstanceConfig) []targetSpec {
	var out []targetSpec
	for _, sc := range c.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			addrs := st.Targets
			if len(addrs) == 0 {
				addrs = []string{"localhost"}
			}
			for _, addr := range addrs {
				t := targetSpec{job: sc.JobName, address: addr, glob: filepath.Clean(st.Labels[validate.LogsPathLabel]),
					labels: model.LabelSet{}, discovered: map[string]string{"__address__": addr}}
				for k, v := range st.Labels {
					t.discovered[k] = v
					if !strings.HasPrefix(k, "__") {
						t.labels[model.LabelName(k)] = model.LabelValue(v)
					}
				}
				out = append(out, t)
			}
		}
	}
	return out
}

// key names a target in the positions file: its job, address and glob.
func (t targetSpec) key() string { return t.job + "\x00" + t.address + "\x00" + t.glob }
