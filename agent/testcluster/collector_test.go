package testcluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	collectorv1 "github.com/nomadlike/nomadlike/agent/proto/collector/v1"
	"github.com/nomadlike/nomadlike/agent/proto/collector/v1/collectorv1connect"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// TestCluster_CollectorAcrossServers plays Alloy's remotecfg against three
// server processes with the binary codec: it registers through one server,
// polls the others (each answers from its own state) and gets the same
// configuration and hash; the registration survives the leader's death.
func TestCluster_CollectorAcrossServers(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	s1, s2, s3 := c.Servers[0], c.Servers[1], c.Servers[2]
	mustCall(t, s1, "CreatePipeline", map[string]any{"pipeline": map[string]any{
		"name": "linux", "contents": configAlloy, "matchers": []any{"collector.os=linux"}, "enabled": true}})
	mustCall(t, s1, "CreatePipeline", map[string]any{"pipeline": map[string]any{
		"name": "windows", "contents": "logging {}", "matchers": []any{"collector.os=windows"}, "enabled": true}})

	ctx := context.Background()
	client := func(a *Agent) collectorv1connect.CollectorServiceClient {
		return collectorv1connect.NewCollectorServiceClient(http.DefaultClient, a.URL())
	}
	attrs := map[string]string{"collector.os": "linux", "collector.version": "v1.10.0"}
	if _, err := client(s2).RegisterCollector(ctx, connect.NewRequest(&collectorv1.RegisterCollectorRequest{
		Id: "alloy-1", Name: "host-1", LocalAttributes: attrs})); err != nil {
		t.Fatalf("register on %s: %v", s2.Name, err)
	}

	// Polls without attributes: each server must know the registration.
	poll := func(a *Agent, hash string) (*collectorv1.GetConfigResponse, error) {
		res, err := client(a).GetConfig(ctx, connect.NewRequest(&collectorv1.GetConfigRequest{Id: "alloy-1", Hash: hash}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	var want *collectorv1.GetConfigResponse
	for _, s := range []*Agent{s3, s1, s2} {
		testutil.WaitForResult(t, 10*time.Second, func() error {
			got, err := poll(s, "")
			if err != nil {
				return err
			}
			if !strings.Contains(got.Content, `declare "linux"`) {
				return fmt.Errorf("%s has not applied the registration yet", s.Name)
			}
			if want == nil {
				want = got
			}
			if got.Hash != want.Hash || got.Content != want.Content {
				return fmt.Errorf("%s answers hash %s, want %s", s.Name, got.Hash, want.Hash)
			}
			return nil
		})
	}
	st, _, err := s1.API().Collectors().Info("alloy-1", nil)
	if err != nil || fmt.Sprint(st.Pipelines) != "[linux]" || st.ConfigHash != want.Hash {
		t.Fatalf("status on %s: %+v %v", s1.Name, st, err)
	}

	// Kill the leader: the acknowledged registration is still there.
	leader := c.WaitForLeader()
	leader.Kill()
	c.WaitForLeader()
	for _, s := range c.Running() {
		testutil.WaitForResult(t, 10*time.Second, func() error {
			got, err := poll(s, want.Hash)
			if err != nil {
				return err
			}
			if !got.NotModified {
				return fmt.Errorf("%s: not_modified false after failover", s.Name)
			}
			list, _, err := s.API().Collectors().List(nil)
			if err != nil || len(list) != 1 || list[0].ID != "alloy-1" {
				return fmt.Errorf("%s lists %v (%v)", s.Name, list, err)
			}
			return nil
		})
	}
}
