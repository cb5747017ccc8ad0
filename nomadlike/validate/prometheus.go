package validate

import (
	"fmt"
	"log/slog"

	promconfig "github.com/prometheus/prometheus/config"
	yaml "go.yaml.in/yaml/v2"
)

// PrometheusConfig returns c's scrape and remote_write sections as a
// Prometheus config under global, loaded with promconfig.Load: scrape
// configs validated against global with its values filled in, and marked
// loaded, which scrape.Manager.ApplyConfig requires (Config.GetScrapeConfigs
// refuses a Config that Load did not build). It is for the runtime; c is
// not changed. Load expands $VARS in global's external_labels from the
// process environment, as Prometheus does.
func (c *InstanceConfig) PrometheusConfig(global promconfig.GlobalConfig) (*promconfig.Config, error) {
	g, err := encodeValue(&global)
	if err != nil {
		return nil, err
	}
	doc := yaml.MapSlice{{Key: "global", Value: g}}
	if len(c.ScrapeConfigs) > 0 {
		scs := make([]interface{}, 0, len(c.ScrapeConfigs))
		for _, sc := range c.ScrapeConfigs {
			t, err := encodeValue(sc)
			if err != nil {
				return nil, err
			}
			scs = append(scs, t)
		}
		doc = append(doc, yaml.MapItem{Key: "scrape_configs", Value: scs})
	}
	if len(c.RemoteWrite) > 0 {
		rws := make([]interface{}, 0, len(c.RemoteWrite))
		for i, rw := range c.RemoteWrite {
			t, err := encodeValue(rw)
			if err != nil {
				return nil, err
			}
			// The agent's name for unnamed entries, so that queues and
			// their metrics keep it across reloads.
			name, err := c.RemoteWriteName(i)
			if err != nil {
				return nil, err
			}
			if ms, ok := t.(yaml.MapSlice); ok && rw.Name == "" {
				t = append(ms, yaml.MapItem{Key: "name", Value: name})
			}
			rws = append(rws, t)
		}
		doc = append(doc, yaml.MapItem{Key: "remote_write", Value: rws})
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	cfg, err := promconfig.Load(string(b), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("instance config %q as a Prometheus config: %w", c.Name, err)
	}
	return cfg, nil
}
