package validate

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
)

func TestInstanceConfig_PrometheusConfig(t *testing.T) {
	c := mustParse(t, `
scrape_configs:
- job_name: fast
  scrape_interval: 5s
  static_configs: [{targets: [a:1]}]
- job_name: default
  basic_auth: {username: u, password: pw}
  static_configs: [{targets: [b:1]}]
remote_write:
- url: https://user:url-pw@mimir.example.com/push
- {url: http://b, name: named}
`, InstanceConfigOptions{})
	global := promconfig.DefaultGlobalConfig
	global.ScrapeInterval = model.Duration(30 * time.Second)
	global.ScrapeTimeout = model.Duration(3 * time.Second)
	cfg, err := c.PrometheusConfig(global)
	if err != nil {
		t.Fatal(err)
	}
	// GetScrapeConfigs is what scrape.Manager.ApplyConfig calls.
	scs, err := cfg.GetScrapeConfigs()
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 2 || scs[0].ScrapeInterval != model.Duration(5*time.Second) ||
		scs[1].ScrapeInterval != model.Duration(30*time.Second) || scs[1].ScrapeTimeout != model.Duration(3*time.Second) {
		t.Fatalf("scrape configs: %+v %+v", scs[0], scs[1])
	}
	if string(scs[1].HTTPClientConfig.BasicAuth.Password) != "pw" {
		t.Fatal("scrape password lost")
	}
	if len(cfg.RemoteWriteConfigs) != 2 || cfg.RemoteWriteConfigs[0].URL.String() != "https://user:url-pw@mimir.example.com/push" ||
		!strings.HasPrefix(cfg.RemoteWriteConfigs[0].Name, "test-") || cfg.RemoteWriteConfigs[1].Name != "named" ||
		!cfg.RemoteWriteConfigs[0].SendExemplars || !cfg.RemoteWriteConfigs[0].QueueConfig.RetryOnRateLimit {
		t.Fatalf("remote_write: %+v", cfg.RemoteWriteConfigs[0])
	}
	// The instance config itself keeps the globals unset.
	if c.ScrapeConfigs[1].ScrapeInterval != 0 {
		t.Fatal("PrometheusConfig changed the instance config")
	}
}
