package host

import (
	"bufio"
	"bytes"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nomadlike/nomadlike/structs"
)

// pseudoFS are file systems that hold no data of their own.
var pseudoFS = map[string]bool{
	"autofs": true, "binfmt_misc": true, "bpf": true, "cgroup": true, "cgroup2": true,
	"configfs": true, "debugfs": true, "devpts": true, "devtmpfs": true, "fusectl": true,
	"fuse.lxcfs": true, "hugetlbfs": true, "mqueue": true, "nsfs": true, "proc": true,
	"pstore": true, "rpc_pipefs": true, "securityfs": true, "sysfs": true, "tmpfs": true,
	"tracefs": true, "vboxsf": true,
}

// osDescription is uname's machine, node name, release, system and
// version.
func osDescription() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err.Error()
	}
	return strings.Join([]string{
		unix.ByteSliceToString(u.Machine[:]), unix.ByteSliceToString(u.Nodename[:]),
		unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Sysname[:]),
		unix.ByteSliceToString(u.Version[:]),
	}, " ")
}

// disks reports every mounted data file system of /proc/mounts; mounts
// statfs cannot read are left out.
func disks() map[string]structs.DiskUsage {
	out := map[string]structs.DiskUsage{}
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || pseudoFS[f[2]] {
			continue
		}
		mount := unescapeMount(f[1])
		var st unix.Statfs_t
		if err := unix.Statfs(mount, &st); err != nil {
			continue
		}
		bsize := int64(st.Bsize)
		out[mount] = structs.DiskUsage{
			DiskMB: int64(st.Blocks) * bsize >> 20,
			UsedMB: int64(st.Blocks-st.Bavail) * bsize >> 20,
		}
	}
	return out
}

// unescapeMount undoes /proc/mounts' octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(n)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// octal reads three octal digits as one byte.
func octal(s string) (byte, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		n = n*8 + int(c-'0')
	}
	return byte(n), n < 256
}
