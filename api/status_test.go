package api

import (
	"errors"
	"testing"
)

func TestStatus_Leader(t *testing.T) {
	f, c := newFakeAgent(t, 200, `"127.0.0.1:4647"`)
	leader, err := c.Status().Leader()
	if err != nil || leader != "127.0.0.1:4647" {
		t.Fatalf("Leader = %q, %v", leader, err)
	}
	f.expect(t, "GET", "/v1/status/leader", nil)

	f.body = `""`
	if leader, err = c.Status().Leader(); err != nil || leader != "" {
		t.Fatalf("Leader without leader = %q, %v", leader, err)
	}
}

func TestStatus_Peers(t *testing.T) {
	f, c := newFakeAgent(t, 200, `["127.0.0.1:4647","127.0.0.2:4647","127.0.0.3:4647"]`)
	peers, err := c.Status().Peers()
	if err != nil || len(peers) != 3 || peers[2] != "127.0.0.3:4647" {
		t.Fatalf("Peers = %v, %v", peers, err)
	}
	f.expect(t, "GET", "/v1/status/peers", nil)

	f.body = `[]`
	if peers, err = c.Status().Peers(); err != nil || peers == nil || len(peers) != 0 {
		t.Fatalf("Peers = %#v, %v; want empty non-nil", peers, err)
	}

	f.status, f.body = 500, "No cluster leader"
	_, err = c.Status().Peers()
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 500 || ure.Body() != "No cluster leader" {
		t.Fatalf("err = %v", err)
	}
}
