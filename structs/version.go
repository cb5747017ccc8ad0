package structs

import "fmt"

// Version is the release of this build. GitCommit is set by the linker
// (-ldflags "-X github.com/nomadlike/nomadlike/structs.GitCommit=...").
var (
	Version           = "0.1.0"
	VersionPrerelease = "dev"
	GitCommit         = ""
)

// VersionString is the full human-readable version, e.g. "0.1.0-dev (abc123)".
func VersionString() string {
	v := Version
	if VersionPrerelease != "" {
		v += "-" + VersionPrerelease
	}
	if GitCommit != "" {
		v = fmt.Sprintf("%s (%s)", v, GitCommit)
	}
	return v
}
