package api

import (
	"errors"
	"net/url"
	"testing"
)

const nodeID = "f7476465-4d6e-c0de-26d0-e383c49be941"

func TestNodes_List(t *testing.T) {
	f, c := newFakeAgent(t, 200, `[{"ID":"`+nodeID+`","Name":"web-1","Datacenter":"dc1","Status":"ready",
	 "StatusDescription":"","HTTPAddr":"10.0.0.5:4646","Attributes":{"collector.os":"linux"},"Meta":{"rack":"r1"},
	 "CreateIndex":5,"ModifyIndex":9}]`)
	f.headers["X-Nomad-Index"] = "9"
	nodes, qm, err := c.Nodes().List(nil)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	f.expect(t, "GET", "/v1/nodes", nil)
	if qm.LastIndex != 9 || len(nodes) != 1 {
		t.Fatalf("List = %v, %+v", nodes, qm)
	}
	n := nodes[0]
	if n.ID != nodeID || n.Name != "web-1" || n.Datacenter != "dc1" || n.Status != NodeStatusReady ||
		n.HTTPAddr != "10.0.0.5:4646" || n.Attributes["collector.os"] != "linux" || n.Meta["rack"] != "r1" ||
		n.CreateIndex != 5 || n.ModifyIndex != 9 {
		t.Fatalf("stub = %+v", n)
	}

	f.body = `null`
	if nodes, _, err = c.Nodes().PrefixList("f74"); err != nil || nodes == nil || len(nodes) != 0 {
		t.Fatalf("PrefixList = %#v, %v; want empty non-nil", nodes, err)
	}
	f.expect(t, "GET", "/v1/nodes", url.Values{"prefix": {"f74"}})
}

func TestNodes_Info(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"ID":"`+nodeID+`","Name":"web-1","Datacenter":"dc1","HTTPAddr":"10.0.0.5:4646",
	 "Status":"down","StatusDescription":"missed heartbeat","StatusUpdatedAt":1700000000,
	 "Attributes":{"collector.arch":"amd64"},"Meta":{},"CreateIndex":5,"ModifyIndex":11}`)
	f.headers["X-Nomad-Index"] = "11"
	n, qm, err := c.Nodes().Info(nodeID, &QueryOptions{WaitIndex: 10})
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	f.expect(t, "GET", "/v1/node/"+nodeID, url.Values{"index": {"10"}})
	if qm.LastIndex != 11 {
		t.Fatalf("LastIndex = %d", qm.LastIndex)
	}
	if n.ID != nodeID || n.Status != NodeStatusDown || n.StatusDescription != "missed heartbeat" ||
		n.StatusUpdatedAt != 1700000000 || n.Attributes["collector.arch"] != "amd64" || n.ModifyIndex != 11 {
		t.Fatalf("node = %+v", n)
	}

	if _, _, err := c.Nodes().Info("", nil); err == nil {
		t.Fatalf("Info with empty ID should fail")
	}

	f.status, f.body = 404, "node not found"
	_, _, err = c.Nodes().Info("nope", nil)
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 404 || ure.Body() != "node not found" {
		t.Fatalf("err = %v, want 404", err)
	}
}
