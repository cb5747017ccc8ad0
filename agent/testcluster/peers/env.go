package peers

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvInt is the integer in environment variable name, def when it is
// unset; a value that is not an integer fails tb (a benchmark knob with a
// typo must not run the default silently).
func EnvInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// EnvDuration is EnvInt for a Go duration.
func EnvDuration(tb testing.TB, name string, def time.Duration) time.Duration {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}
