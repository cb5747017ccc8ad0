package validate

// The service discovery mechanisms a stored config may use besides
// static_configs. prometheus/config registers none of them itself; these
// are the agent's "safe" types that cost almost nothing to build in (plain
// HTTP or DNS clients; consul's API client). See DESIGN.md for the ones
// left out and why.
import (
	_ "github.com/prometheus/prometheus/discovery/consul"
	_ "github.com/prometheus/prometheus/discovery/dns"
	_ "github.com/prometheus/prometheus/discovery/eureka"
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/discovery/http"
	_ "github.com/prometheus/prometheus/discovery/marathon"
	_ "github.com/prometheus/prometheus/discovery/triton"
)
