package agent

import (
	"net/http"

	"github.com/nomadlike/nomadlike/structs"
)

// configStatusData is the data of GET /agent/api/v1/config/{name}/status:
// the nodes assigned the config and what each reports of its instance.
type configStatusData struct {
	Name  string                  `json:"name"`
	Nodes []*configNodeStatusJSON `json:"nodes"`
}

type configNodeStatusJSON struct {
	NodeID     string              `json:"nodeId"`
	NodeName   string              `json:"nodeName"`
	NodeStatus string              `json:"nodeStatus"`
	Instance   *instanceStatusJSON `json:"instance"`
}

// instanceStatusJSON is a metrics instance as a node reports it.
type instanceStatusJSON struct {
	Name           string `json:"name"`
	Source         string `json:"source"`
	State          string `json:"state"`
	Error          string `json:"error"`
	TargetsUp      int    `json:"targetsUp"`
	TargetsDown    int    `json:"targetsDown"`
	TargetsUnknown int    `json:"targetsUnknown"`
	LastError      string `json:"lastError"`
}

func instanceStatusToJSON(s *structs.MetricsInstanceStatus) *instanceStatusJSON {
	if s == nil {
		return nil
	}
	return &instanceStatusJSON{Name: s.Name, Source: s.Source, State: s.State, Error: s.Error,
		TargetsUp: s.TargetsUp, TargetsDown: s.TargetsDown, TargetsUnknown: s.TargetsUnknown, LastError: s.LastError}
}

// status says where a config runs and, for a metrics config, how its
// targets are (blocking with ?index=).
func (h configHandlers) status(resp http.ResponseWriter, req *http.Request) (any, error) {
	s := h.s
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	name, err := configName(req, h.k.configPrefix)
	if err != nil {
		return nil, err
	}
	args := structs.ConfigSpecificRequest{Name: name, Kind: h.k.kind}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ConfigStatusResponse
	if err := s.agent.RPC("Config.Status", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	data := &configStatusData{Name: out.Name, Nodes: make([]*configNodeStatusJSON, 0, len(out.Nodes))}
	for _, n := range out.Nodes {
		data.Nodes = append(data.Nodes, &configNodeStatusJSON{NodeID: n.NodeID, NodeName: n.NodeName,
			NodeStatus: n.NodeStatus, Instance: instanceStatusToJSON(n.Instance)})
	}
	return data, nil
}
