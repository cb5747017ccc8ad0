package hostmetrics

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// Answers of a Docker Engine (API 1.47), trimmed to a few containers.
const (
	dockerList = `[
 {"Id":"8dfafdbc3a40aaaa","Names":["/web","/other/web-alias"],"Image":"nginx:1.27","ImageID":"sha256:aaaa",
  "Command":"nginx -g 'daemon off;'","Created":1713182400,
  "Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"PrivatePort":443,"Type":"tcp"}],
  "Labels":{"com.example.team":"web"},"State":"running","Status":"Up 2 hours (healthy)",
  "HostConfig":{"NetworkMode":"bridge"},"NetworkSettings":{"Networks":{"bridge":{"IPAddress":"172.17.0.2"}}},
  "Mounts":[{"Type":"bind","Source":"/srv/www","Destination":"/usr/share/nginx/html","Mode":"ro","RW":false,"Propagation":"rprivate"}]},
 {"Id":"9cdfe0bd1234bbbb","Names":["/db"],"Image":"postgres:16","ImageID":"sha256:bbbb","Command":"postgres",
  "Created":1713180000,"Ports":[],"Labels":{},"State":"exited","Status":"Exited (0) 5 minutes ago",
  "HostConfig":{"NetworkMode":"default"},"Mounts":[{"Type":"volume","Name":"pg","Source":"/var/lib/docker/volumes/pg/_data","Destination":"/var/lib/postgresql/data","Driver":"local","Mode":"z","RW":true,"Propagation":""}]},
 {"Id":"abcdef0123456789","Names":["/cache"],"Image":"redis:7","ImageID":"sha256:cccc","Command":"redis-server",
  "Created":1713181000,"Ports":[],"Labels":null,"State":"running","Status":"Up 1 second",
  "HostConfig":{"NetworkMode":"host"},"Mounts":[]}
]`
	// web: cgroup v2 stats of a container that used 0.1 s of CPU while
	// the host's 4 CPUs used 1 s.
	webStats = `{"read":"2026-04-15T12:00:01.000000000Z","preread":"2026-04-15T12:00:00.000000000Z",
 "pids_stats":{"current":3},
 "blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"read","value":3145728},
   {"major":8,"minor":0,"op":"write","value":4194304},{"major":8,"minor":16,"op":"read","value":1048576}]},
 "num_procs":0,"storage_stats":{},
 "cpu_stats":{"cpu_usage":{"total_usage":400000000,"usage_in_kernelmode":100000000,"usage_in_usermode":300000000},
   "system_cpu_usage":20000000000,"online_cpus":4,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},
 "precpu_stats":{"cpu_usage":{"total_usage":300000000,"usage_in_kernelmode":80000000,"usage_in_usermode":220000000},
   "system_cpu_usage":19000000000,"online_cpus":4,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},
 "memory_stats":{"usage":104857600,"stats":{"active_anon":52428800,"inactive_file":20971520,"file":31457280},"limit":536870912},
 "name":"/web","id":"8dfafdbc3a40aaaa",
 "networks":{"eth0":{"rx_bytes":1048576,"rx_packets":10,"tx_bytes":2097152,"tx_packets":20},
   "eth1":{"rx_bytes":1048576,"rx_packets":5,"tx_bytes":0,"tx_packets":0}}}`
	// cache: a one-shot answer (no previous sample), cgroup v1, no
	// network of its own.
	cacheStats = `{"read":"2026-04-15T12:00:01Z","preread":"0001-01-01T00:00:00Z",
 "blkio_stats":{"io_service_bytes_recursive":[{"major":8,"minor":0,"op":"Read","value":0},{"major":8,"minor":0,"op":"Write","value":0}]},
 "cpu_stats":{"cpu_usage":{"total_usage":5000000,"percpu_usage":[2500000,2500000]},"system_cpu_usage":20000000000},
 "precpu_stats":{"cpu_usage":{"total_usage":0},"system_cpu_usage":0},
 "memory_stats":{"usage":10485760,"stats":{"total_inactive_file":1048576,"inactive_file":1048576},"limit":9223372036854771712}}`
	// cache, a collection later: 0.02 s of CPU while the host's 2 CPUs
	// used 1 s.
	cacheStats2 = `{"read":"2026-04-15T12:00:11Z","preread":"0001-01-01T00:00:00Z",
 "cpu_stats":{"cpu_usage":{"total_usage":25000000,"percpu_usage":[12500000,12500000]},"system_cpu_usage":21000000000},
 "precpu_stats":{"cpu_usage":{"total_usage":0},"system_cpu_usage":0},
 "memory_stats":{"usage":10485760,"stats":{"total_inactive_file":1048576},"limit":9223372036854771712}}`
	webInspect   = `{"Id":"8dfafdbc3a40aaaa","Name":"/web","RestartCount":2,"State":{"Status":"running","Running":true,"Health":{"Status":"healthy","FailingStreak":0,"Log":[]}}}`
	cacheInspect = `{"Id":"abcdef0123456789","Name":"/cache","RestartCount":0,"State":{"Status":"running","Running":true}}`
)

// fakeDocker serves the Engine API on a unix socket.
func fakeDocker(t *testing.T, h http.Handler) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dk") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return sock
}

func dockerEngine(calls *atomic.Int32) http.Handler {
	var cacheCalls atomic.Int32
	answers := map[string]string{
		"/containers/json":                   dockerList,
		"/containers/8dfafdbc3a40aaaa/stats": webStats, "/containers/8dfafdbc3a40aaaa/json": webInspect,
		"/containers/abcdef0123456789/stats": cacheStats, "/containers/abcdef0123456789/json": cacheInspect,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == "/containers/json" && r.URL.Query().Get("all") != "1" {
			http.Error(w, "want all=1", http.StatusBadRequest)
			return
		}
		if q := r.URL.Query(); strings.HasSuffix(r.URL.Path, "/stats") && (q.Get("stream") != "false" || q.Get("one-shot") != "true") {
			http.Error(w, "want stream=false&one-shot=true", http.StatusBadRequest)
			return
		}
		body, ok := answers[r.URL.Path]
		if r.URL.Path == "/containers/abcdef0123456789/stats" && cacheCalls.Add(1) > 1 {
			body = cacheStats2
		}
		if !ok {
			http.Error(w, `{"message":"No such container"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
}

func TestHostMetrics_DockerContainers(t *testing.T) {
	var calls atomic.Int32
	sock := fakeDocker(t, dockerEngine(&calls))
	c := newTestCollector(t, Config{DockerSocket: sock})
	m := c.Collect(context.Background())
	roundTrip(t, m)

	if len(m.Containers) != 3 {
		t.Fatalf("containers %+v", m.Containers)
	}
	web, db, cache := m.Containers[0], m.Containers[1], m.Containers[2]
	if web.ID != "8dfafdbc3a40aaaa" || web.Name != "web" || web.Image != "nginx:1.27" || web.ImageID != "sha256:aaaa" ||
		web.State != "running" || web.Status != "Up 2 hours (healthy)" || web.Created != 1713182400 ||
		web.Labels["com.example.team"] != "web" || web.NetworkMode == nil || *web.NetworkMode != "bridge" {
		t.Errorf("web: %+v", web)
	}
	if len(web.Ports) != 2 || web.Ports[0].PrivatePort != 80 || web.Ports[0].PublicPort == nil ||
		*web.Ports[0].PublicPort != 8080 || web.Ports[0].IP == nil || *web.Ports[0].IP != "0.0.0.0" ||
		web.Ports[0].Type != "tcp" || web.Ports[1].PublicPort != nil || web.Ports[1].IP != nil {
		t.Errorf("web ports: %+v", web.Ports)
	}
	if len(web.Mounts) != 1 || web.Mounts[0].Source != "/srv/www" || web.Mounts[0].Destination != "/usr/share/nginx/html" ||
		web.Mounts[0].Mode != "ro" || web.Mounts[0].Type != "bind" {
		t.Errorf("web mounts: %+v", web.Mounts)
	}
	if db.Name != "db" || db.State != "exited" || len(db.Ports) != 0 || len(db.Mounts) != 1 || db.Mounts[0].Type != "volume" {
		t.Errorf("db: %+v", db)
	}
	if cache.Name != "cache" || cache.Labels != nil {
		t.Errorf("cache: %+v", cache)
	}

	// services[]: the running containers only.
	if len(m.Services) != 2 {
		t.Fatalf("services %+v", m.Services)
	}
	s := m.Services[0]
	// docker stats: (400e6-300e6) / (20e9-19e9) * 4 CPUs * 100 = 40%.
	want := map[string]float64{"cpu": 40, "mem": 80, "limit": 512, "rx": 2, "tx": 2, "read": 4, "write": 4, "restarts": 2}
	got := map[string]*float64{"cpu": s.CPUPercent, "mem": s.MemoryUsedMb, "limit": s.MemoryLimitMb, "rx": s.NetworkRxMb,
		"tx": s.NetworkTxMb, "read": s.BlockReadMb, "write": s.BlockWriteMb, "restarts": s.RestartCount}
	for k, w := range want {
		if got[k] == nil || *got[k] != w {
			t.Errorf("web %s = %v, want %v", k, got[k], w)
		}
	}
	if s.ContainerName != "web" || s.State == nil || *s.State != "running" || s.Health == nil || *s.Health != "healthy" {
		t.Errorf("web service: %+v", s)
	}
	cs := m.Services[1]
	// No previous sample: CPU% unknown, not 0; no networks: left out.
	if cs.ContainerName != "cache" || cs.CPUPercent != nil || cs.NetworkRxMb != nil || cs.Health != nil {
		t.Errorf("cache service: %+v", cs)
	}
	// cgroup v1: usage less total_inactive_file.
	if cs.MemoryUsedMb == nil || *cs.MemoryUsedMb != 9 || cs.BlockReadMb == nil || *cs.BlockReadMb != 0 ||
		cs.RestartCount == nil || *cs.RestartCount != 0 {
		t.Errorf("cache service figures: %+v", cs)
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("%d calls to the engine, want 5 (list, and stats and inspect of 2 running)", n)
	}

	// The next collection has our own previous reading of cache as the
	// baseline: (25e6-5e6) / (21e9-20e9) * 2 CPUs * 100 = 4%.
	m = c.Collect(context.Background())
	roundTrip(t, m)
	if len(m.Services) != 2 || m.Services[1].CPUPercent == nil || *m.Services[1].CPUPercent != 4 {
		t.Errorf("cache's CPU%% from the previous reading: %+v", m.Services)
	}
	if m.Services[0].CPUPercent == nil || *m.Services[0].CPUPercent != 40 {
		t.Errorf("web's CPU%% from the daemon's precpu_stats: %+v", m.Services[0])
	}
}

func TestHostMetrics_DockerBounds(t *testing.T) {
	var calls atomic.Int32
	sock := fakeDocker(t, dockerEngine(&calls))
	c := newTestCollector(t, Config{DockerSocket: sock, MaxContainers: 1})
	m := c.Collect(context.Background())
	if len(m.Containers) != 1 || len(m.Services) != 1 || m.Containers[0].Name != "web" {
		t.Fatalf("max_containers 1: containers %+v services %+v", m.Containers, m.Services)
	}

	// An answer larger than its bound is refused, not read whole.
	huge := fakeDocker(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("[" + strings.Repeat(`{"Id":"x"},`, maxListBody/10) + `{"Id":"y"}]`))
	}))
	c = newTestCollector(t, Config{DockerSocket: huge})
	m = c.Collect(context.Background())
	if len(m.Containers) != 0 {
		t.Errorf("an oversized list was used: %d containers", len(m.Containers))
	}
	// And garbage does not panic.
	bad := fakeDocker(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/containers/json" {
			_, _ = w.Write([]byte(`[{"Id":"","Names":[],"State":"running"}]`))
			return
		}
		_, _ = w.Write([]byte(`{"cpu_stats": "nope"`))
	}))
	c = newTestCollector(t, Config{DockerSocket: bad})
	m = c.Collect(context.Background())
	if len(m.Containers) != 1 || m.Containers[0].Name != "" || len(m.Services) != 1 || m.Services[0].CPUPercent != nil {
		t.Errorf("bad answers: containers %+v services %+v", m.Containers, m.Services)
	}
}

func TestHostMetrics_NoDocker(t *testing.T) {
	dir := t.TempDir()
	notSocket := filepath.Join(dir, "docker.sock")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sock := range []string{filepath.Join(dir, "missing.sock"), notSocket} {
		c := newTestCollector(t, Config{DockerSocket: sock})
		m := c.Collect(context.Background())
		if len(m.Containers) != 0 || len(m.Services) != 0 || m.MemoryTotalMb == nil {
			t.Errorf("%s: containers %v services %v memory %v", sock, m.Containers, m.Services, m.MemoryTotalMb)
		}
		if !c.dockerDown {
			t.Errorf("%s: not seen as unreachable", sock)
		}
		roundTrip(t, m)
	}
}
