package hostmetrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// Bounds of what is read from the Docker Engine API.
const (
	maxListBody    = 16 << 20 // /containers/json of 500 containers with labels
	maxStatsBody   = 1 << 20
	maxInspectBody = 4 << 20
	// dockerParallel bounds the per-container calls in flight.
	dockerParallel = 8
	// dockerCallTimeout bounds one call.
	dockerCallTimeout = 5 * time.Second
)

// docker speaks the Engine API over its unix socket. The unversioned paths
// get the daemon's own API version, so no version negotiation is needed
// (and no daemon is too new or too old for the fields read here).
type docker struct {
	client *http.Client

	// prevCPU is each running container's previous cpu_stats, the
	// baseline of its CPU% when the daemon answers one-shot.
	mu      sync.Mutex
	prevCPU map[string]dockerCPUStats
}

func newDocker(socket string) *docker {
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	return &docker{prevCPU: map[string]dockerCPUStats{}, client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: dockerParallel,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}}}
}

// close drops the idle connections to the daemon.
func (d *docker) close() { d.client.CloseIdleConnections() }

// get GETs path and decodes at most limit bytes of its JSON into v.
func (d *docker) get(ctx context.Context, path string, limit int64, v any) error {
	ctx, cancel := context.WithTimeout(ctx, dockerCallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return err
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("docker %s: answer larger than %d bytes", path, limit)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("docker %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
	}
	return json.Unmarshal(body, v)
}

// The Engine API's shapes, only the fields read.
type (
	dockerContainer struct {
		ID      string   `json:"Id"`
		Names   []string `json:"Names"`
		Image   string   `json:"Image"`
		ImageID string   `json:"ImageID"`
		Created int64    `json:"Created"`
		State   string   `json:"State"`
		Status  string   `json:"Status"`
		Ports   []struct {
			IP          string `json:"IP"`
			PrivatePort uint16 `json:"PrivatePort"`
			PublicPort  uint16 `json:"PublicPort"`
			Type        string `json:"Type"`
		} `json:"Ports"`
		Labels map[string]string `json:"Labels"`
		Mounts []struct {
			Type        string `json:"Type"`
			Source      string `json:"Source"`
			Destination string `json:"Destination"`
			Mode        string `json:"Mode"`
		} `json:"Mounts"`
		HostConfig struct {
			NetworkMode string `json:"NetworkMode"`
		} `json:"HostConfig"`
	}
	dockerCPUStats struct {
		CPUUsage struct {
			TotalUsage  uint64   `json:"total_usage"`
			PercpuUsage []uint64 `json:"percpu_usage"`
		} `json:"cpu_usage"`
		SystemUsage uint64 `json:"system_cpu_usage"`
		OnlineCPUs  uint32 `json:"online_cpus"`
	}
	dockerStats struct {
		CPUStats    dockerCPUStats `json:"cpu_stats"`
		PreCPUStats dockerCPUStats `json:"precpu_stats"`
		MemoryStats struct {
			Usage uint64            `json:"usage"`
			Limit uint64            `json:"limit"`
			Stats map[string]uint64 `json:"stats"`
		} `json:"memory_stats"`
		Networks map[string]struct {
			RxBytes uint64 `json:"rx_bytes"`
			TxBytes uint64 `json:"tx_bytes"`
		} `json:"networks"`
		BlkioStats struct {
			IOServiceBytesRecursive []struct {
				Op    string `json:"op"`
				Value uint64 `json:"value"`
			} `json:"io_service_bytes_recursive"`
		} `json:"blkio_stats"`
	}
	dockerInspect struct {
		RestartCount int `json:"RestartCount"`
		State        struct {
			Status string `json:"Status"`
			Health *struct {
				Status string `json:"Status"`
			} `json:"Health"`
		} `json:"State"`
	}
)

// containers lists every container (at most max) and the resource use of
// the running ones. A daemon that cannot be reached gives empty lists and
// an error the caller logs.
func (d *docker) containers(ctx context.Context, maxContainers int) ([]structs.ContainerInfo, []structs.ServiceMetrics, error) {
	var list []dockerContainer
	if err := d.get(ctx, "/containers/json?all=1", maxListBody, &list); err != nil {
		return nil, nil, err
	}
	truncated := len(list) > maxContainers
	list = list[:min(len(list), maxContainers)]
	infos := make([]structs.ContainerInfo, 0, len(list))
	var running []int
	for i, dc := range list {
		infos = append(infos, containerInfo(dc))
		if dc.State == "running" {
			running = append(running, i)
		}
	}
	services := make([]structs.ServiceMetrics, len(running))
	sem := make(chan struct{}, dockerParallel)
	var wg sync.WaitGroup
	for j, i := range running {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			services[j] = d.service(ctx, list[i].ID, infos[i].Name)
		}()
	}
	wg.Wait()
	live := make(map[string]bool, len(running))
	for _, i := range running {
		live[list[i].ID] = true
	}
	d.mu.Lock()
	maps.DeleteFunc(d.prevCPU, func(id string, _ dockerCPUStats) bool { return !live[id] })
	d.mu.Unlock()
	var err error
	if truncated {
		err = fmt.Errorf("more than %d containers: the rest are left out", maxContainers)
	}
	return infos, services, err
}

// containerInfo maps a listed container to containers[].
func containerInfo(dc dockerContainer) structs.ContainerInfo {
	ci := structs.ContainerInfo{ID: dc.ID, Name: containerName(dc), Image: dc.Image, ImageID: dc.ImageID,
		State: dc.State, Status: dc.Status, Created: float64(max(dc.Created, 0)), Labels: dc.Labels,
		NetworkMode: optional(dc.HostConfig.NetworkMode)}
	for _, p := range dc.Ports {
		port := structs.ContainerPort{PrivatePort: float64(p.PrivatePort), Type: p.Type, IP: optional(p.IP)}
		if p.PublicPort != 0 {
			port.PublicPort = ptr(float64(p.PublicPort))
		}
		ci.Ports = append(ci.Ports, port)
	}
	for _, m := range dc.Mounts {
		ci.Mounts = append(ci.Mounts, structs.ContainerMount{Source: m.Source, Destination: m.Destination,
			Mode: m.Mode, Type: m.Type})
	}
	return ci
}

// containerName is the container's own name: Names also holds the
// "/other/alias" names of legacy links.
func containerName(dc dockerContainer) string {
	for _, n := range dc.Names {
		if n = strings.TrimPrefix(n, "/"); n != "" && !strings.Contains(n, "/") {
			return n
		}
	}
	if len(dc.Names) > 0 && strings.TrimPrefix(dc.Names[0], "/") != "" {
		return strings.TrimPrefix(dc.Names[0], "/")
	}
	return dc.ID[:min(len(dc.ID), 12)]
}

// service reads one running container's stats and state; a call that
// fails leaves its figures out.
func (d *docker) service(ctx context.Context, id, name string) structs.ServiceMetrics {
	sm := structs.ServiceMetrics{ContainerName: name, State: ptr("running")}
	esc := url.PathEscape(id)
	// one-shot: answer at once instead of after a second sample (API
	// 1.41+; older daemons ignore it and send the pair).
	var st dockerStats
	if err := d.get(ctx, "/containers/"+esc+"/stats?stream=false&one-shot=true", maxStatsBody, &st); err == nil {
		d.mu.Lock()
		prev, ok := d.prevCPU[id]
		d.prevCPU[id] = st.CPUStats
		d.mu.Unlock()
		if st.PreCPUStats.SystemUsage == 0 && ok {
			st.PreCPUStats = prev
		}
		applyStats(&sm, &st)
	}
	var in dockerInspect
	if err := d.get(ctx, "/containers/"+esc+"/json", maxInspectBody, &in); err == nil {
		sm.RestartCount = ptr(float64(max(in.RestartCount, 0)))
		if in.State.Status != "" {
			sm.State = ptr(in.State.Status)
		}
		if in.State.Health != nil && in.State.Health.Status != "" {
			sm.Health = ptr(in.State.Health.Status)
		}
	}
	return sm
}

// applyStats computes what `docker stats` shows from one stats answer.
func applyStats(sm *structs.ServiceMetrics, st *dockerStats) {
	sm.CPUPercent = dockerCPUPercent(st)
	if ms := st.MemoryStats; ms.Usage > 0 || ms.Limit > 0 {
		sm.MemoryUsedMb = ptr(round(float64(memoryNoCache(ms.Usage, ms.Stats))/mb, 2))
		if ms.Limit > 0 {
			sm.MemoryLimitMb = ptr(round(float64(ms.Limit)/mb, 2))
		}
	}
	if st.Networks != nil {
		var rx, tx uint64
		for _, n := range st.Networks {
			rx += n.RxBytes
			tx += n.TxBytes
		}
		sm.NetworkRxMb, sm.NetworkTxMb = ptr(round(float64(rx)/mb, 3)), ptr(round(float64(tx)/mb, 3))
	}
	if ios := st.BlkioStats.IOServiceBytesRecursive; ios != nil {
		var r, w uint64
		for _, e := range ios {
			switch strings.ToLower(e.Op) {
			case "read":
				r += e.Value
			case "write":
				w += e.Value
			}
		}
		sm.BlockReadMb, sm.BlockWriteMb = ptr(round(float64(r)/mb, 3)), ptr(round(float64(w)/mb, 3))
	}
}

// dockerCPUPercent is the docker CLI's calculateCPUPercentUnix: the
// container's share of the host's CPU time between the two samples, times
// the online CPUs (100 = one CPU). The previous sample is the daemon's
// precpu_stats or, answered one-shot, our own previous reading; nil
// without either.
func dockerCPUPercent(st *dockerStats) *float64 {
	cur, pre := st.CPUStats, st.PreCPUStats
	if pre.SystemUsage == 0 || cur.SystemUsage <= pre.SystemUsage || cur.CPUUsage.TotalUsage < pre.CPUUsage.TotalUsage {
		return nil
	}
	online := float64(cur.OnlineCPUs)
	if online == 0 {
		online = float64(len(cur.CPUUsage.PercpuUsage))
	}
	if online == 0 {
		return nil
	}
	cpuDelta := float64(cur.CPUUsage.TotalUsage - pre.CPUUsage.TotalUsage)
	sysDelta := float64(cur.SystemUsage - pre.SystemUsage)
	return ptr(round(cpuDelta/sysDelta*online*100, 2))
}

// memoryNoCache is the docker CLI's calculateMemUsageUnixNoCache: usage
// less the inactive page cache (cgroup v1 total_inactive_file, v2
// inactive_file), which the kernel reclaims before it would OOM.
func memoryNoCache(usage uint64, stats map[string]uint64) uint64 {
	if v, ok := stats["total_inactive_file"]; ok && v < usage {
		return usage - v
	}
	if v := stats["inactive_file"]; v < usage {
		return usage - v
	}
	return usage
}

// unreachable reports a daemon that is not there (no socket, refused),
// as opposed to one that answered badly.
func unreachable(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
