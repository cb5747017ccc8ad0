package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/api"
)

// NodeMetricsCommand shows the latest host metrics a node pushed.
type NodeMetricsCommand struct {
	Meta
}

// Thresholds of the summary.
const (
	// certWarnDays: a certificate with fewer days left is a failing
	// check; with this many or fewer it is listed as expiring.
	certWarnDays = 30
	// topProcessRows is the length of each top-process list shown.
	topProcessRows = 5
)

// Name returns the words that invoke the command.
func (c *NodeMetricsCommand) Name() string { return "node metrics" }

// Synopsis returns the one-line summary of the command.
func (c *NodeMetricsCommand) Synopsis() string {
	return "Display the latest host metrics of a node"
}

// Help returns the command's usage text.
func (c *NodeMetricsCommand) Help() string {
	return `Usage: nomadlike node metrics [options] <node-id>

  Shows the latest host metrics payload the servers received from a node
  (its ID, or any prefix of one that matches a single node): CPU, memory,
  swap, disk, load, uptime, file descriptors and TCP connections; failing
  health checks; certificates that expire within 30 days; containers that
  are not running, unhealthy or restarting; and the top processes by CPU
  and by memory.

  With -json, prints the payload exactly as the node sent it.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *NodeMetricsCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <node-id>")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	id, code := c.resolveNode(client, fs.Arg(0))
	if code != 0 {
		return code
	}
	m, _, err := client.Nodes().Metrics(id, nil)
	if err != nil {
		return c.errorf("querying node metrics", err)
	}
	for _, w := range m.Warnings {
		c.Ui.Warn("Warning: " + w)
	}
	if c.json {
		var b bytes.Buffer
		if err := json.Indent(&b, m.Raw, "", "    "); err != nil {
			return c.errorf("formatting JSON", err)
		}
		c.Ui.Output(b.String())
		return 0
	}
	c.Ui.Output(formatNodeMetrics(m, time.Now()))
	return 0
}

// resolveNode turns a node ID prefix into one node's ID, as node status
// does; a non-zero code means it printed why it could not.
func (c *NodeMetricsCommand) resolveNode(client *api.Client, prefix string) (string, int) {
	id, miss, err := nodeByPrefix(client, prefix, false)
	if err != nil {
		return "", c.errorf("querying nodes", err)
	}
	if miss != "" {
		c.Ui.Error(miss)
		return "", 1
	}
	return id, 0
}

// formatNodeMetrics renders the summary; now is the time ages are
// measured from.
func formatNodeMetrics(m *api.NodeMetrics, now time.Time) string {
	p := m.Payload
	if p == nil {
		p = &api.HostMetrics{}
	}
	name := m.NodeName
	if name == "" {
		name = m.NodeID
	} else {
		name += " (" + shortID(m.NodeID, false) + ")"
	}
	received := "<none>"
	if !m.ReceivedAt.IsZero() {
		received = fmt.Sprintf("%s (%s ago)", m.ReceivedAt.UTC().Format(time.RFC3339),
			hmAge(now.Sub(m.ReceivedAt)))
	}
	header := [][2]string{{"Node", name}, {"Received At", received}, {"Server", m.Server}}
	if p.CollectedAt != nil {
		header = append(header, [2]string{"Collected At", *p.CollectedAt})
	}
	if p.AgentVersion != nil {
		header = append(header, [2]string{"Agent Version", *p.AgentVersion})
	}
	if p.ServerHealthy != nil {
		header = append(header, [2]string{"Server Healthy", strconv.FormatBool(*p.ServerHealthy)})
	}
	var b strings.Builder
	b.WriteString(formatKV(header))
	b.WriteString("\n\nHost\n" + formatKV(hmHostLines(p)))
	for _, s := range []struct {
		title string
		body  string
	}{
		{"Failing Checks", hmFailingChecks(p)},
		{"Expiring Certificates", hmExpiringCerts(p)},
		{"Containers", hmContainerLines(p)},
		{"Top Processes by CPU", hmTopProcesses(p, func(t *api.TopProcesses) []api.ProcessInfo { return t.ByCPU })},
		{"Top Processes by Memory", hmTopProcesses(p, func(t *api.TopProcesses) []api.ProcessInfo { return t.ByMemory })},
	} {
		if s.body != "" {
			b.WriteString("\n\n" + s.title + "\n" + s.body)
		}
	}
	return b.String()
}

// hmHostLines are the host-wide figures; one the node did not report is
// "-".
func hmHostLines(p *api.HostMetrics) [][2]string {
	lines := [][2]string{
		{"CPU", hmOrDash(p.CPUPercent, func(v float64) string { return fmt.Sprintf("%.1f%%", v) })},
		{"Memory", hmUsedTotal(p.MemoryUsedMb, p.MemoryTotalMb, hmMiB)},
		{"Swap", hmUsedTotal(p.SwapUsedMb, p.SwapTotalMb, hmMiB)},
		{"Disk", hmUsedTotal(p.DiskUsedGb, p.DiskTotalGb, hmGiB)},
		{"Load", "-"},
		{"Uptime", hmOrDash(p.Uptime, func(v float64) string { return hmAge(time.Duration(v) * time.Second) })},
		{"File Descriptors", "-"},
		{"TCP", "-"},
	}
	if p.LoadAvg1 != nil || p.LoadAvg5 != nil || p.LoadAvg15 != nil {
		f := func(v *float64) string { return hmOrDash(v, func(v float64) string { return fmt.Sprintf("%.2f", v) }) }
		lines[4][1] = f(p.LoadAvg1) + " / " + f(p.LoadAvg5) + " / " + f(p.LoadAvg15) + " (1m / 5m / 15m)"
	}
	if p.OpenFds != nil {
		lines[6][1] = hmCount(*p.OpenFds)
		if p.MaxFds != nil {
			lines[6][1] += " open of " + hmCount(*p.MaxFds)
		} else {
			lines[6][1] += " open"
		}
	}
	var tcp []string
	for _, s := range []struct {
		name string
		v    *float64
	}{{"established", p.TCPEstablished}, {"listen", p.TCPListen}, {"time-wait", p.TCPTimeWait},
		{"close-wait", p.TCPCloseWait}, {"total", p.TCPTotal}} {
		if s.v != nil {
			tcp = append(tcp, hmCount(*s.v)+" "+s.name)
		}
	}
	if len(tcp) > 0 {
		lines[7][1] = strings.Join(tcp, ", ")
	}
	if t := p.TopProcesses; t != nil {
		s := t.Stats
		lines = append(lines, [2]string{"Processes", fmt.Sprintf("%s total, %s running, %s sleeping, %s stopped, %s zombie",
			hmCount(s.Total), hmCount(s.Running), hmCount(s.Sleeping), hmCount(s.Stopped), hmCount(s.Zombie))})
	}
	return lines
}

// hmFailingChecks: http checks that did not succeed, tcp checks that could
// not connect, and tls checks that failed, have an error, or have fewer
// than certWarnDays days left.
func hmFailingChecks(p *api.HostMetrics) string {
	var rows [][]string
	for _, h := range p.ServiceHealthChecks {
		if h.Success {
			continue
		}
		detail := []string{}
		if h.StatusCode != nil {
			detail = append(detail, "status "+hmCount(*h.StatusCode))
		}
		if h.Error != nil && *h.Error != "" {
			detail = append(detail, *h.Error)
		}
		rows = append(rows, []string{"http", h.HealthCheckURL, h.ContainerName, hmJoinOr(detail, "failed")})
	}
	for _, t := range p.TCPCheckResults {
		if t.Success {
			continue
		}
		rows = append(rows, []string{"tcp", hmCheckTarget(t.Name, t.Host, t.Port), t.ContainerName,
			hmJoinOr(hmNonEmpty(t.Error), "unreachable")})
	}
	for _, t := range p.CertCheckResults {
		short := t.DaysUntilExpiry != nil && *t.DaysUntilExpiry < certWarnDays
		hasErr := t.Error != nil && *t.Error != ""
		if t.Success && !short && !hasErr {
			continue
		}
		var detail []string
		if hasErr {
			detail = append(detail, *t.Error)
		}
		if short {
			unit := " days"
			if *t.DaysUntilExpiry == 1 {
				unit = " day"
			}
			detail = append(detail, "expires in "+hmCount(*t.DaysUntilExpiry)+unit)
		}
		rows = append(rows, []string{"tls", hmCheckTarget(t.Name, t.Host, t.Port), t.ContainerName,
			hmJoinOr(detail, "failed")})
	}
	if len(rows) == 0 {
		return ""
	}
	return formatTable([]string{"Kind", "Check", "Container", "Problem"}, rows)
}

// hmExpiringCerts lists the certificates with certWarnDays days left or
// fewer, soonest first.
func hmExpiringCerts(p *api.HostMetrics) string {
	var certs []api.CertCheckResult
	for _, t := range p.CertCheckResults {
		if t.DaysUntilExpiry != nil && *t.DaysUntilExpiry <= certWarnDays {
			certs = append(certs, t)
		}
	}
	if len(certs) == 0 {
		return ""
	}
	sort.SliceStable(certs, func(i, j int) bool { return *certs[i].DaysUntilExpiry < *certs[j].DaysUntilExpiry })
	rows := make([][]string, 0, len(certs))
	for _, t := range certs {
		rows = append(rows, []string{hmCheckTarget(t.Name, t.Host, t.Port), t.ContainerName,
			hmCount(*t.DaysUntilExpiry), hmDeref(t.ExpiresAt), hmDeref(t.Subject)})
	}
	return formatTable([]string{"Check", "Container", "Days Left", "Expires At", "Subject"}, rows)
}

// hmContainerLines lists the containers that need a look: not running
// (containers[]), or running but unhealthy, restarting, or restarted
// (services[]).
func hmContainerLines(p *api.HostMetrics) string {
	type row struct{ state, health, restarts, status string }
	rows := map[string]*row{}
	var order []string
	get := func(name string) *row {
		if r, ok := rows[name]; ok {
			return r
		}
		r := &row{health: "-", restarts: "-", status: "-"}
		rows[name] = r
		order = append(order, name)
		return r
	}
	status := map[string]api.ContainerInfo{}
	for _, ci := range p.Containers {
		status[strings.TrimPrefix(ci.Name, "/")] = ci
	}
	for _, s := range p.Services {
		name := strings.TrimPrefix(s.ContainerName, "/")
		restarts := s.RestartCount != nil && *s.RestartCount > 0
		if hmDeref(s.Health) != "unhealthy" && hmDeref(s.State) != "restarting" && !restarts {
			continue
		}
		r := get(name)
		r.state, r.health = hmDeref(s.State), hmOrString(s.Health, "-")
		if s.RestartCount != nil {
			r.restarts = hmCount(*s.RestartCount)
		}
	}
	for _, ci := range p.Containers {
		name := strings.TrimPrefix(ci.Name, "/")
		if _, listed := rows[name]; !listed && ci.State == "running" {
			continue
		}
		r := get(name)
		if r.state == "" {
			r.state = ci.State
		}
	}
	if len(order) == 0 {
		return ""
	}
	out := make([][]string, 0, len(order))
	for _, name := range order {
		r := rows[name]
		if ci, ok := status[name]; ok && ci.Status != "" {
			r.status = ci.Status
		}
		out = append(out, []string{name, hmOrString(&r.state, "-"), r.health, r.restarts, r.status})
	}
	return formatTable([]string{"Name", "State", "Health", "Restarts", "Status"}, out)
}

// hmTopProcesses renders the first topProcessRows of one top list.
func hmTopProcesses(p *api.HostMetrics, list func(*api.TopProcesses) []api.ProcessInfo) string {
	if p.TopProcesses == nil {
		return ""
	}
	procs := list(p.TopProcesses)
	if len(procs) == 0 {
		return ""
	}
	procs = procs[:min(len(procs), topProcessRows)]
	rows := make([][]string, 0, len(procs))
	for _, pr := range procs {
		rows = append(rows, []string{hmCount(pr.PID), pr.Name, pr.State, fmt.Sprintf("%.1f", pr.CPUPercent),
			hmMiB(pr.MemoryMb), hmCount(pr.Threads)})
	}
	return formatTable([]string{"PID", "Name", "State", "CPU %", "Memory", "Threads"}, rows)
}

// hmUsedTotal renders "used / total (pct%)" in human units.
func hmUsedTotal(used, total *float64, unit func(float64) string) string {
	switch {
	case used == nil && total == nil:
		return "-"
	case total == nil:
		return unit(*used) + " / -"
	case used == nil:
		return "- / " + unit(*total)
	}
	s := unit(*used) + " / " + unit(*total)
	if *total > 0 {
		s += fmt.Sprintf(" (%.1f%%)", *used / *total * 100)
	}
	return s
}

// hmMiB renders a figure in MiB (the payload's "Mb") in the largest binary
// unit that keeps it at 1 or more.
func hmMiB(v float64) string { return hmBinary(v * (1 << 20)) }

// hmGiB renders a figure in GiB (the payload's "Gb") likewise.
func hmGiB(v float64) string { return hmBinary(v * (1 << 30)) }

func hmBinary(bytes float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for bytes >= 1024 && i < len(units)-1 {
		bytes /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", bytes)
	}
	return fmt.Sprintf("%.1f %s", bytes, units[i])
}

// hmAge renders a duration as days, hours and minutes (seconds under
// a minute), e.g. "3d4h5m", "2m", "45s".
func hmAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	days, h, m := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if days > 0 || h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	fmt.Fprintf(&b, "%dm", m)
	return b.String()
}

// hmCount renders a whole number carried as a JSON number.
func hmCount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func hmOrDash(v *float64, f func(float64) string) string {
	if v == nil {
		return "-"
	}
	return f(*v)
}

func hmOrString(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

func hmDeref(s *string) string { return hmOrString(s, "") }

func hmNonEmpty(s *string) []string {
	if s == nil || *s == "" {
		return nil
	}
	return []string{*s}
}

func hmJoinOr(parts []string, def string) string {
	if len(parts) == 0 {
		return def
	}
	return strings.Join(parts, "; ")
}

// hmCheckTarget names a tcp or tls check: its name and host:port.
func hmCheckTarget(name *string, host string, port float64) string {
	target := host + ":" + hmCount(port)
	if name != nil && *name != "" {
		return *name + " (" + target + ")"
	}
	return target
}
