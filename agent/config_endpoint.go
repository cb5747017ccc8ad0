package agent

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/structs"
)

// The Grafana Agent config management API (scraping service mode). Note
// the singular/plural split of its paths: reads of one config are under
// configs/, writes under config/.
const (
	configsPrefix = "/agent/api/v1/configs/"
	configPrefix  = "/agent/api/v1/config/"
)

// configKindAPI is where one kind of config is served: Grafana Agent's
// paths for metrics instance configs, the same shape under /logs/ for
// logs instance configs (which Grafana Agent's API does not store).
type configKindAPI struct {
	kind                        string
	listPath                    string
	configsPrefix, configPrefix string
}

var (
	metricsConfigAPI = configKindAPI{kind: structs.ConfigKindMetrics, listPath: "/agent/api/v1/configs",
		configsPrefix: configsPrefix, configPrefix: configPrefix}
	logsConfigAPI = configKindAPI{kind: structs.ConfigKindLogs, listPath: "/agent/api/v1/logs/configs",
		configsPrefix: "/agent/api/v1/logs/configs/", configPrefix: "/agent/api/v1/logs/config/"}
)

// configHandlers serve one kind's config API.
type configHandlers struct {
	s *HTTPServer
	k configKindAPI
}

// registerConfigRoutes serves k's config API. {name} is decoded by the
// handlers from the raw path, so hello%2Fworld is the config hello/world.
func (s *HTTPServer) registerConfigRoutes(k configKindAPI) {
	h := configHandlers{s: s, k: k}
	s.handle(k.listPath, familyConfig, h.list, get(capability(acl.ConfigRead)))
	s.handle(k.configsPrefix+"{name}", familyConfig, h.get, get(capability(acl.ConfigRead)))
	s.handle(k.configPrefix+"{name}", familyConfig, h.putDelete,
		needs{"PUT": capability(acl.ConfigWrite), "POST": capability(acl.ConfigWrite), "DELETE": capability(acl.ConfigWrite)})
	s.handle(k.configPrefix+"{name}/revisions", familyConfig, h.revisions, get(capability(acl.ConfigRead)))
	s.handle(k.configPrefix+"{name}/status", familyConfig, h.status, get(capability(acl.ConfigRead)))
}

// configName is the {name} of a config path. Like the agent, it takes the
// segment from the raw, still %-encoded path and unescapes it, so
// hello%2Fworld names the config hello/world.
func configName(req *http.Request, prefix string) (string, error) {
	return decodeConfigName(req.URL.EscapedPath(), prefix)
}

// decodeConfigName takes the segment after prefix in the escaped path and
// unescapes it.
func decodeConfigName(escapedPath, prefix string) (string, error) {
	raw, _, _ := strings.Cut(strings.TrimPrefix(escapedPath, prefix), "/")
	name, err := url.PathUnescape(raw)
	if err != nil {
		return "", structs.NewErrCoded(http.StatusBadRequest, "could not decode config name: %v", err)
	}
	return name, nil
}

// configNotFound is the agent's 404 for a missing config.
func configNotFound(name string) error {
	return structs.NewErrCoded(http.StatusNotFound, "configuration %s does not exist", name)
}

// configListData is the data of GET /agent/api/v1/configs.
type configListData struct {
	Configs []string `json:"configs"`
}

// list lists the names of the stored configs of k's kind
// (blocking with ?index=).
func (h configHandlers) list(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	args := structs.ConfigSpecificRequest{Kind: h.k.kind}
	if err := h.s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ConfigListResponse
	if err := h.s.agent.RPC("Config.List", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	data := &configListData{Configs: make([]string, 0, len(out.Configs))}
	for _, c := range out.Configs {
		data.Configs = append(data.Configs, c.Name)
	}
	return data, nil
}

// configValueData is the data of GET /agent/api/v1/configs/{name}.
type configValueData struct {
	Value string `json:"value"`
}

// get returns one config's YAML, secrets scrubbed (blocking with
// ?index=).
func (h configHandlers) get(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	name, err := configName(req, h.k.configsPrefix)
	if err != nil {
		return nil, err
	}
	args := structs.ConfigSpecificRequest{Name: name, Kind: h.k.kind}
	if err := h.s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SingleConfigResponse
	if err := h.s.agent.RPC("Config.Get", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	if out.Config == nil {
		return nil, configNotFound(name)
	}
	return &configValueData{Value: out.Config.Contents}, nil
}

// putDelete creates or replaces a config from a YAML body (PUT and
// POST: 201 when created, 200 when replaced) or deletes it.
func (h configHandlers) putDelete(resp http.ResponseWriter, req *http.Request) (any, error) {
	switch req.Method {
	case http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		return nil, errMethodNotAllowed
	}
	name, err := configName(req, h.k.configPrefix)
	if err != nil {
		return nil, err
	}
	args := structs.ConfigApplyRequest{Kind: h.k.kind}
	h.s.parseWriteRequest(req, &args.WriteRequest)
	if req.Method == http.MethodDelete {
		args.Name, args.Delete = name, true
		var out structs.ConfigApplyResponse
		if err := h.s.agent.RPC("Config.Delete", &args, &out); err != nil {
			return nil, err
		}
		setIndex(resp, out.Index)
		return nil, nil
	}
	body, err := readBody(req, maxRequestBytes)
	if err != nil {
		return nil, err
	}
	args.Config = &structs.InstanceConfig{Name: name, Kind: h.k.kind, Contents: string(body)}
	var out structs.ConfigApplyResponse
	if err := h.s.agent.RPC("Config.Put", &args, &out); err != nil {
		return nil, err
	}
	setIndex(resp, out.Index)
	if out.Created {
		return &withStatus{code: http.StatusCreated}, nil
	}
	return nil, nil
}

// configRevisionsData is the data of GET /agent/api/v1/config/{name}/revisions.
type configRevisionsData struct {
	Revisions []*configRevisionJSON `json:"revisions"`
}

// configRevisionJSON is one revision as the api package decodes it.
type configRevisionJSON struct {
	RevisionID string              `json:"revisionId"`
	Snapshot   *configSnapshotJSON `json:"snapshot"`
	CreatedAt  time.Time           `json:"createdAt"`
	Operation  string              `json:"operation"`
}

// configSnapshotJSON is a config as a revision recorded it.
type configSnapshotJSON struct {
	Name      string     `json:"name"`
	Contents  string     `json:"contents"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// revisions lists a config's revisions in order (blocking with
// ?index=).
func (h configHandlers) revisions(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	name, err := configName(req, h.k.configPrefix)
	if err != nil {
		return nil, err
	}
	args := structs.ConfigSpecificRequest{Name: name, Kind: h.k.kind}
	if err := h.s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ConfigRevisionsResponse
	if err := h.s.agent.RPC("Config.Revisions", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	data := &configRevisionsData{Revisions: make([]*configRevisionJSON, 0, len(out.Revisions))}
	for _, r := range out.Revisions {
		data.Revisions = append(data.Revisions, configRevisionToJSON(r))
	}
	return data, nil
}

// configRevisionToJSON converts a stored revision; times are UTC.
func configRevisionToJSON(r *structs.ConfigRevision) *configRevisionJSON {
	out := &configRevisionJSON{RevisionID: r.RevisionID, CreatedAt: r.CreatedAt.UTC(), Operation: r.Operation}
	if c := r.Snapshot; c != nil {
		out.Snapshot = &configSnapshotJSON{Name: c.Name, Contents: c.Contents,
			CreatedAt: utcOrNil(c.CreatedAt), UpdatedAt: utcOrNil(c.UpdatedAt)}
	}
	return out
}

func utcOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
