package testcluster

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// BenchmarkEtcdGatewayBaseline is the yardstick for BenchmarkPipelineAPI:
// a 3-member etcd cluster (Debian's etcd-server, `apt-get install
// etcd-server`) on loopback, 1 KiB puts with unique keys through its
// HTTP/JSON gateway (/v3/kv/put) spread over the three members, at the
// same concurrencies and window. Skipped when no etcd binary is on PATH.
func BenchmarkEtcdGatewayBaseline(b *testing.B) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		b.Skip("etcd not installed (apt-get install etcd-server)")
	}
	dir := b.TempDir()
	ports := testutil.FreePorts(b, 6)
	var initial []string
	for i := 0; i < 3; i++ {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	var clients []string
	for i := 0; i < 3; i++ {
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		clients = append(clients, client)
		cmd := exec.Command(bin, "--name", fmt.Sprintf("e%d", i), "--data-dir", filepath.Join(dir, fmt.Sprint(i)),
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--log-level", "error")
		logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("e%d.log", i)))
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}}
	value := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("// padding to one KiB of pipeline contents\n", 24)))
	put := func(w int, i int64) bool {
		body, _ := json.Marshal(map[string]string{
			"key":   base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("bench-%d", i))),
			"value": value,
		})
		resp, err := client.Post(clients[w%3]+"/v3/kv/put", "application/json", bytes.NewReader(body))
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	testutil.WaitForResult(b, 30*time.Second, func() error {
		for w := range clients {
			if !put(w, -1) {
				return fmt.Errorf("etcd member %d not ready", w)
			}
		}
		return nil
	})

	window := benchWindow()
	var rows []*loadResult
	for _, conc := range []int{1, 16, 64} {
		rows = append(rows, runLoad("etcd 3.4 gateway put", conc, window, put))
	}
	printLoadTable(fmt.Sprintf("etcd: 3 members on loopback, %s per step, 1 KiB values", window), rows)
}
