package agent

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// The Grafana Agent config management API (scraping service mode). Note
// the singular/plural split of its paths: reads of one config are under
// configs/, writes under config/.
const (
	configsPrefix = "/agent/api/v1/configs/"
	configPrefix  = "/agent/api/v1/config/"
)

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

// ConfigListRequest lists the names of the stored configs (blocking with
// ?index=).
func (s *HTTPServer) ConfigListRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var args structs.ConfigSpecificRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ConfigListResponse
	if err := s.agent.RPC("Config.List", &args, &out); err != nil {
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

// ConfigGetRequest returns one config's YAML, secrets scrubbed (blocking
// with ?index=).
func (s *HTTPServer) ConfigGetRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	name, err := configName(req, configsPrefix)
	if err != nil {
		return nil, err
	}
	args := structs.ConfigSpecificRequest{Name: name}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SingleConfigResponse
	if err := s.agent.RPC("Config.Get", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	if out.Config == nil {
		return nil, configNotFound(name)
	}
	return &configValueData{Value: out.Config.Contents}, nil
}

// ConfigPutDeleteRequest creates or replaces a config from a YAML body
// (PUT and POST: 201 when created, 200 when replaced) or deletes it.
func (s *HTTPServer) ConfigPutDeleteRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	switch req.Method {
	case http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		return nil, errMethodNotAllowed
	}
	name, err := configName(req, configPrefix)
	if err != nil {
		return nil, err
	}
	args := structs.ConfigApplyRequest{}
	s.parseWriteRequest(req, &args.WriteRequest)
	if req.Method == http.MethodDelete {
		args.Name, args.Delete = name, true
		var out structs.ConfigApplyResponse
		if err := s.agent.RPC("Config.Delete", &args, &out); err != nil {
			return nil, err
		}
		setIndex(resp, out.Index)
		return nil, nil
	}
	body, err := readBody(req, maxRequestBytes)
	if err != nil {
		return nil, err
	}
	args.Config = &structs.InstanceConfig{Name: name, Contents: string(body)}
	var out structs.ConfigApplyResponse
	if err := s.agent.RPC("Config.Put", &args, &out); err != nil {
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

// ConfigRevisionsRequest lists a config's revisions in order (blocking
// with ?index=).
func (s *HTTPServer) ConfigRevisionsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	name, err := configName(req, configPrefix)
	if err != nil {
		return nil, err
	}
	args := structs.ConfigSpecificRequest{Name: name}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.ConfigRevisionsResponse
	if err := s.agent.RPC("Config.Revisions", &args, &out); err != nil {
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
