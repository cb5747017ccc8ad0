package agent

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// parseLogLevel accepts trace, debug, info, warn and error in any case.
func parseLogLevel(s string) (hclog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "trace":
		return hclog.Trace, nil
	case "debug":
		return hclog.Debug, nil
	case "info":
		return hclog.Info, nil
	case "warn", "warning":
		return hclog.Warn, nil
	case "error", "err":
		return hclog.Error, nil
	}
	return hclog.NoLevel, fmt.Errorf("%q is not one of trace, debug, info, warn, error", s)
}

// NewLogger builds the agent's root logger. It is an InterceptLogger so
// that the monitor endpoint can attach sinks at their own level.
func NewLogger(c *Config, out io.Writer) hclog.InterceptLogger {
	level, _ := parseLogLevel(*c.LogLevel)
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:            "agent",
		Level:           level,
		JSONFormat:      *c.LogJSON,
		Output:          out,
		IncludeLocation: false,
	})
}
