package structs

// HostData is what an agent reports of its host (GET /v1/agent/host), in
// the shape Nomad's api package decodes: the field names are the JSON keys.
type HostData struct {
	// OS is uname's machine, node name, release, system and version.
	OS string
	// Network has one entry per interface address: go-sockaddr's
	// attributes of the address and its dial and listen arguments.
	Network []map[string]string
	// ResolvConf and Hosts are /etc/resolv.conf and /etc/hosts as they
	// are (or the error that kept them from being read).
	ResolvConf string
	Hosts      string
	// Environment is the agent's environment, secrets redacted.
	Environment map[string]string
	// Disk is the size and use of every mounted file system that stores
	// data, by mount point.
	Disk map[string]DiskUsage
}

// DiskUsage is one file system's size and use, in MiB.
type DiskUsage struct {
	DiskMB int64
	UsedMB int64
}
