package api

import (
	"errors"
	"net/url"
	"testing"
)

func TestOperator_RaftGetConfiguration(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"Servers":[
	 {"ID":"id-1","Node":"s1.global","Address":"127.0.0.1:4647","Leader":true,"Voter":true,"RaftProtocol":"3"},
	 {"ID":"id-2","Node":"s2.global","Address":"127.0.0.2:4647","Leader":false,"Voter":false,"RaftProtocol":"3"}],
	 "Index":12}`)
	cfg, err := c.Operator().RaftGetConfiguration(&QueryOptions{AllowStale: true})
	if err != nil {
		t.Fatalf("RaftGetConfiguration: %v", err)
	}
	f.expect(t, "GET", "/v1/operator/raft/configuration", url.Values{"stale": {""}})
	if cfg.Index != 12 || len(cfg.Servers) != 2 {
		t.Fatalf("cfg = %+v", cfg)
	}
	s := cfg.Servers[0]
	if s.ID != "id-1" || s.Node != "s1.global" || s.Address != "127.0.0.1:4647" || !s.Leader || !s.Voter || s.RaftProtocol != "3" {
		t.Fatalf("server = %+v", s)
	}
	if cfg.Servers[1].Leader || cfg.Servers[1].Voter {
		t.Fatalf("second server = %+v", cfg.Servers[1])
	}

	f.body = `{"Servers":null,"Index":3}`
	if cfg, err = c.Operator().RaftGetConfiguration(nil); err != nil || cfg.Servers == nil {
		t.Fatalf("cfg = %+v, %v; want empty non-nil Servers", cfg, err)
	}
}

func TestOperator_RaftRemovePeerByID(t *testing.T) {
	f, c := newFakeAgent(t, 200, "")
	if err := c.Operator().RaftRemovePeerByID("id-2", nil); err != nil {
		t.Fatalf("RaftRemovePeerByID: %v", err)
	}
	f.expect(t, "DELETE", "/v1/operator/raft/peer", url.Values{"id": {"id-2"}})

	f.status, f.body = 403, "Permission denied"
	err := c.Operator().RaftRemovePeerByID("id-2", nil)
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 403 {
		t.Fatalf("err = %v, want 403", err)
	}
}
