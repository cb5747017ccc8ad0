package validate

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/prometheus/common/model"
)

// ScrapeConfig mirrors Prometheus' config.ScrapeConfig: every key of the
// Prometheus releases the agent shipped with plus those of current
// Prometheus, so re-marshalled configs from either parse. Service discovery
// blocks live in the inlined ServiceDiscoveryConfigs.
//
// EnableCompression is a pointer so that a default (true) is not printed:
// the agent's Prometheus fork predates the key and parses strictly.
type ScrapeConfig struct {
	JobName                        string              `yaml:"job_name"`
	HonorLabels                    bool                `yaml:"honor_labels,omitempty"`
	HonorTimestamps                bool                `yaml:"honor_timestamps"`
	TrackTimestampsStaleness       bool                `yaml:"track_timestamps_staleness"`
	Params                         map[string][]string `yaml:"params,omitempty"`
	ScrapeInterval                 model.Duration      `yaml:"scrape_interval,omitempty"`
	ScrapeTimeout                  model.Duration      `yaml:"scrape_timeout,omitempty"`
	ScrapeProtocols                []string            `yaml:"scrape_protocols,omitempty"`
	FallbackScrapeProtocol         string              `yaml:"fallback_scrape_protocol,omitempty"`
	ScrapeNativeHistograms         *bool               `yaml:"scrape_native_histograms,omitempty"`
	ScrapeClassicHistograms        bool                `yaml:"scrape_classic_histograms,omitempty"`
	AlwaysScrapeClassicHistograms  *bool               `yaml:"always_scrape_classic_histograms,omitempty"`
	ConvertClassicHistogramsToNHCB *bool               `yaml:"convert_classic_histograms_to_nhcb,omitempty"`
	ScrapeFailureLogFile           string              `yaml:"scrape_failure_log_file,omitempty"`
	MetricsPath                    string              `yaml:"metrics_path"`
	Scheme                         string              `yaml:"scheme"`
	EnableCompression              *bool               `yaml:"enable_compression,omitempty"`
	BodySizeLimit                  string              `yaml:"body_size_limit,omitempty"`
	SampleLimit                    uint                `yaml:"sample_limit,omitempty"`
	TargetLimit                    uint                `yaml:"target_limit,omitempty"`
	LabelLimit                     uint                `yaml:"label_limit,omitempty"`
	LabelNameLengthLimit           uint                `yaml:"label_name_length_limit,omitempty"`
	LabelValueLengthLimit          uint                `yaml:"label_value_length_limit,omitempty"`
	NativeHistogramBucketLimit     uint                `yaml:"native_histogram_bucket_limit,omitempty"`
	NativeHistogramMinBucketFactor float64             `yaml:"native_histogram_min_bucket_factor,omitempty"`
	KeepDroppedTargets             uint                `yaml:"keep_dropped_targets,omitempty"`
	MetricNameValidationScheme     string              `yaml:"metric_name_validation_scheme,omitempty"`
	MetricNameEscapingScheme       string              `yaml:"metric_name_escaping_scheme,omitempty"`
	ExtraScrapeMetrics             *bool               `yaml:"extra_scrape_metrics,omitempty"`

	HTTPClientConfig        HTTPClientConfig        `yaml:",inline"`
	ServiceDiscoveryConfigs ServiceDiscoveryConfigs `yaml:",inline"`

	RelabelConfigs       []*RelabelConfig `yaml:"relabel_configs,omitempty"`
	MetricRelabelConfigs []*RelabelConfig `yaml:"metric_relabel_configs,omitempty"`
}

// rawScrapeConfig decodes a ScrapeConfig without recursing.
type rawScrapeConfig ScrapeConfig

var (
	// scrapeProtocols are the accepted scrape_protocols entries.
	scrapeProtocols = map[string]bool{
		"PrometheusProto": true, "PrometheusText0.0.4": true, "PrometheusText1.0.0": true,
		"OpenMetricsText0.0.1": true, "OpenMetricsText1.0.0": true, "OpenMetricsText2.0.0": true,
	}

	// nameValidationSchemes and nameEscapingSchemes are the accepted
	// metric_name_validation_scheme and metric_name_escaping_scheme values.
	nameValidationSchemes = map[string]bool{"": true, "legacy": true, "utf8": true}
	nameEscapingSchemes   = map[string]bool{"": true, "allow-utf-8": true, "underscores": true, "dots": true, "values": true}

	// bodySizeLimit is the syntax of alecthomas/units' Base2Bytes.
	bodySizeLimit = regexp.MustCompile(`^\+?(0|((\d+(\.\d*)?|\.\d+)(B|[KMGTPE]i?B))+)$`)
)

// UnmarshalYAML fills Prometheus' scrape defaults, decodes strictly and runs
// the checks Prometheus runs while decoding.
func (c *ScrapeConfig) UnmarshalYAML(unmarshal func(interface{}) error) error {
	*c = ScrapeConfig{
		MetricsPath:      "/metrics",
		Scheme:           "http",
		HonorTimestamps:  true,
		HTTPClientConfig: defaultHTTPClientConfig(),
	}
	if err := unmarshal((*rawScrapeConfig)(c)); err != nil {
		return err
	}
	if c.JobName == "" {
		return errors.New("job_name is empty")
	}
	if err := c.check(); err != nil {
		return fmt.Errorf("scrape config with job name %q: %w", c.JobName, err)
	}
	return nil
}

// check validates the decoded fields other than job_name.
func (c *ScrapeConfig) check() error {
	if err := c.HTTPClientConfig.check(); err != nil {
		return err
	}
	if err := c.checkEnums(); err != nil {
		return err
	}
	if err := checkRelabelList("relabel_configs", c.RelabelConfigs); err != nil {
		return err
	}
	if err := checkRelabelList("metric_relabel_configs", c.MetricRelabelConfigs); err != nil {
		return err
	}
	return c.ServiceDiscoveryConfigs.check(len(c.RelabelConfigs) == 0)
}

// checkEnums validates the fields that take one of a fixed set of values.
func (c *ScrapeConfig) checkEnums() error {
	if c.Scheme != "http" && c.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https, got %q", c.Scheme)
	}
	if err := checkScrapeProtocols(c.ScrapeProtocols); err != nil {
		return err
	}
	if c.FallbackScrapeProtocol != "" && !scrapeProtocols[c.FallbackScrapeProtocol] {
		return fmt.Errorf("invalid fallback_scrape_protocol %q", c.FallbackScrapeProtocol)
	}
	if !nameValidationSchemes[c.MetricNameValidationScheme] {
		return fmt.Errorf("unknown metric_name_validation_scheme %q, must be '', 'legacy' or 'utf8'", c.MetricNameValidationScheme)
	}
	if !nameEscapingSchemes[c.MetricNameEscapingScheme] {
		return fmt.Errorf("unknown metric_name_escaping_scheme %q", c.MetricNameEscapingScheme)
	}
	if c.BodySizeLimit != "" && !bodySizeLimit.MatchString(c.BodySizeLimit) {
		return fmt.Errorf("body_size_limit %q is not a size such as 10MB", c.BodySizeLimit)
	}
	return nil
}

// checkScrapeProtocols rejects unknown and repeated protocols. An absent
// list means "use the global default", as in the agent.
func checkScrapeProtocols(sps []string) error {
	seen := make(map[string]bool, len(sps))
	for _, sp := range sps {
		if !scrapeProtocols[sp] {
			return fmt.Errorf("scrape_protocols: unknown scrape protocol %q", sp)
		}
		if seen[strings.ToLower(sp)] {
			return fmt.Errorf("duplicated protocol in scrape_protocols, got %v", sps)
		}
		seen[strings.ToLower(sp)] = true
	}
	return nil
}

// SDConfig is the body of one service discovery entry other than
// static_configs and file_sd_configs, kept as a generic map: its keys are
// not checked, but the *_file rule and scrubbing still walk it.
type SDConfig map[string]interface{}

// StaticConfig is one static_configs entry (a Prometheus target group).
type StaticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// FileSDConfig is one file_sd_configs entry.
type FileSDConfig struct {
	Files           []string       `yaml:"files"`
	RefreshInterval model.Duration `yaml:"refresh_interval"`
}

// rawFileSDConfig decodes a FileSDConfig without recursing.
type rawFileSDConfig FileSDConfig

// fileSDPattern is the file name pattern Prometheus' file SD accepts.
var fileSDPattern = regexp.MustCompile(`^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`)

// UnmarshalYAML fills the 5m refresh default and checks the file patterns.
func (c *FileSDConfig) UnmarshalYAML(unmarshal func(interface{}) error) error {
	*c = FileSDConfig{RefreshInterval: model.Duration(5 * 60 * 1e9)}
	if err := unmarshal((*rawFileSDConfig)(c)); err != nil {
		return err
	}
	if len(c.Files) == 0 {
		return errors.New("file service discovery config must contain at least one path name")
	}
	for _, name := range c.Files {
		if !fileSDPattern.MatchString(name) {
			return fmt.Errorf("path name %q is not valid for file discovery", name)
		}
	}
	return nil
}

// ServiceDiscoveryConfigs holds every <name>_sd_configs key Prometheus (and
// the agent's consulagent) knows. Each field's YAML key is its SD name plus
// "_sd_configs"; static_configs is the "static" SD. Order here is the order
// in which service discovery indexes are counted in errors.
type ServiceDiscoveryConfigs struct {
	StaticConfigs        []*StaticConfig `yaml:"static_configs,omitempty"`
	FileSDConfigs        []*FileSDConfig `yaml:"file_sd_configs,omitempty"`
	AWSSDConfigs         []SDConfig      `yaml:"aws_sd_configs,omitempty"`
	AzureSDConfigs       []SDConfig      `yaml:"azure_sd_configs,omitempty"`
	ConsulSDConfigs      []SDConfig      `yaml:"consul_sd_configs,omitempty"`
	ConsulAgentSDConfigs []SDConfig      `yaml:"consulagent_sd_configs,omitempty"`
	DigitalOceanSDConfig []SDConfig      `yaml:"digitalocean_sd_configs,omitempty"`
	DNSSDConfigs         []SDConfig      `yaml:"dns_sd_configs,omitempty"`
	DockerSDConfigs      []SDConfig      `yaml:"docker_sd_configs,omitempty"`
	DockerSwarmSDConfigs []SDConfig      `yaml:"dockerswarm_sd_configs,omitempty"`
	EC2SDConfigs         []SDConfig      `yaml:"ec2_sd_configs,omitempty"`
	ECSSDConfigs         []SDConfig      `yaml:"ecs_sd_configs,omitempty"`
	ElasticacheSDConfigs []SDConfig      `yaml:"elasticache_sd_configs,omitempty"`
	EurekaSDConfigs      []SDConfig      `yaml:"eureka_sd_configs,omitempty"`
	GCESDConfigs         []SDConfig      `yaml:"gce_sd_configs,omitempty"`
	HetznerSDConfigs     []SDConfig      `yaml:"hetzner_sd_configs,omitempty"`
	HTTPSDConfigs        []SDConfig      `yaml:"http_sd_configs,omitempty"`
	IonosSDConfigs       []SDConfig      `yaml:"ionos_sd_configs,omitempty"`
	KubernetesSDConfigs  []SDConfig      `yaml:"kubernetes_sd_configs,omitempty"`
	KumaSDConfigs        []SDConfig      `yaml:"kuma_sd_configs,omitempty"`
	LightsailSDConfigs   []SDConfig      `yaml:"lightsail_sd_configs,omitempty"`
	LinodeSDConfigs      []SDConfig      `yaml:"linode_sd_configs,omitempty"`
	MarathonSDConfigs    []SDConfig      `yaml:"marathon_sd_configs,omitempty"`
	MSKSDConfigs         []SDConfig      `yaml:"msk_sd_configs,omitempty"`
	NerveSDConfigs       []SDConfig      `yaml:"nerve_sd_configs,omitempty"`
	NomadSDConfigs       []SDConfig      `yaml:"nomad_sd_configs,omitempty"`
	OCISDConfigs         []SDConfig      `yaml:"oci_sd_configs,omitempty"`
	OpenstackSDConfigs   []SDConfig      `yaml:"openstack_sd_configs,omitempty"`
	OutscaleSDConfigs    []SDConfig      `yaml:"outscale_sd_configs,omitempty"`
	OVHCloudSDConfigs    []SDConfig      `yaml:"ovhcloud_sd_configs,omitempty"`
	PuppetDBSDConfigs    []SDConfig      `yaml:"puppetdb_sd_configs,omitempty"`
	RDSSDConfigs         []SDConfig      `yaml:"rds_sd_configs,omitempty"`
	ScalewaySDConfigs    []SDConfig      `yaml:"scaleway_sd_configs,omitempty"`
	ServersetSDConfigs   []SDConfig      `yaml:"serverset_sd_configs,omitempty"`
	StackitSDConfigs     []SDConfig      `yaml:"stackit_sd_configs,omitempty"`
	TritonSDConfigs      []SDConfig      `yaml:"triton_sd_configs,omitempty"`
	UyuniSDConfigs       []SDConfig      `yaml:"uyuni_sd_configs,omitempty"`
	VultrSDConfigs       []SDConfig      `yaml:"vultr_sd_configs,omitempty"`
}

// sdEntry is one service discovery entry with its SD name.
type sdEntry struct {
	name string      // "static", "file", "consul", ...
	key  string      // the YAML key it came from
	body interface{} // *StaticConfig, *FileSDConfig or SDConfig
}

// entries lists every SD entry in field order, then list order; the
// position in the result is the index used in error messages.
func (s *ServiceDiscoveryConfigs) entries() []sdEntry {
	var out []sdEntry
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		name := sdName(key)
		list := v.Field(i)
		for j := 0; j < list.Len(); j++ {
			out = append(out, sdEntry{name: name, key: key, body: list.Index(j).Interface()})
		}
	}
	return out
}

// sdName turns "consul_sd_configs" into "consul" and "static_configs" into
// "static".
func sdName(key string) string {
	if name, ok := strings.CutSuffix(key, "_sd_configs"); ok {
		return name
	}
	return strings.TrimSuffix(key, "_configs")
}

// check rejects null entries and, when the scrape config has no relabel
// rules, static targets that look like URLs (Prometheus' checkStaticTargets).
func (s *ServiceDiscoveryConfigs) check(checkTargets bool) error {
	for _, e := range s.entries() {
		if isNilEntry(e.body) {
			return fmt.Errorf("empty or null section in %s", e.key)
		}
		sc, ok := e.body.(*StaticConfig)
		if !ok || !checkTargets {
			continue
		}
		for _, t := range sc.Targets {
			if strings.Contains(t, "/") {
				return fmt.Errorf("%q is not a valid hostname", t)
			}
		}
	}
	return nil
}

// isNilEntry reports whether a list entry was YAML null.
func isNilEntry(body interface{}) bool {
	switch b := body.(type) {
	case *StaticConfig:
		return b == nil
	case *FileSDConfig:
		return b == nil
	case SDConfig:
		return b == nil
	}
	return body == nil
}
