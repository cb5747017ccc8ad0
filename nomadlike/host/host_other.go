//go:build !linux

package host

import (
	"runtime"

	"github.com/nomadlike/nomadlike/structs"
)

// osDescription is the system and architecture where uname is not read.
func osDescription() string { return runtime.GOOS + " " + runtime.GOARCH }

// disks is empty where /proc/mounts does not exist.
func disks() map[string]structs.DiskUsage { return map[string]structs.DiskUsage{} }
