package api_test

import (
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/api"
)

func TestCollectors_AgainstAgent(t *testing.T) {
	a := agent.TestAgent(t, func(c *agent.Config) { c.Client.Enabled = ptr(false) })
	agent.WaitForAgentLeader(t, a)
	c := newClient(t, a)
	enabled := true
	if _, _, err := c.Pipelines().Create(&api.Pipeline{Name: "linux", Contents: "logging {}",
		Matchers: []string{"collector.os=linux"}, Enabled: &enabled}, false, nil); err != nil {
		t.Fatal(err)
	}
	wm, err := c.Collectors().Register(&api.CollectorRegistration{ID: "a/1", Name: "n",
		LocalAttributes: map[string]string{"collector.os": "linux"}}, nil)
	if err != nil || wm.LastIndex == 0 {
		t.Fatalf("register: %+v %v", wm, err)
	}
	list, _, err := c.Collectors().List(nil)
	if err != nil || len(list) != 1 || list[0].ID != "a/1" || list[0].Attributes["collector.os"] != "linux" || list[0].CreatedAt.IsZero() {
		t.Fatalf("list: %+v %v", list, err)
	}
	cfg, qm, err := c.Collectors().GetConfig(&api.CollectorConfigRequest{ID: "a/1"}, nil)
	if err != nil || cfg.NotModified || !strings.Contains(cfg.Content, `declare "linux"`) || qm.LastIndex == 0 {
		t.Fatalf("get config: %+v %v", cfg, err)
	}
	again, _, err := c.Collectors().GetConfig(&api.CollectorConfigRequest{ID: "a/1", Hash: cfg.Hash}, nil)
	if err != nil || !again.NotModified || again.Content != "" {
		t.Fatalf("not modified: %+v %v", again, err)
	}
	// An ID with a slash survives the path.
	st, _, err := c.Collectors().Info("a/1", nil)
	if err != nil || st.ID != "a/1" || len(st.Pipelines) != 1 || st.Pipelines[0] != "linux" || st.ConfigHash != cfg.Hash {
		t.Fatalf("info: %+v %v", st, err)
	}
	if _, err := c.Collectors().Unregister("a/1", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Collectors().Info("a/1", nil); !api.IsNotFound(err) {
		t.Fatalf("info after unregister: %v", err)
	}
	if _, err := c.Collectors().Register(&api.CollectorRegistration{}, nil); err == nil {
		t.Fatal("register without ID")
	}
}
