package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Revision operations, the values of ConfigRevision.Operation and
// PipelineRevision.Operation.
const (
	// RevisionInsert marks the revision that created the object.
	RevisionInsert = "INSERT"
	// RevisionUpdate marks a revision that replaced the object.
	RevisionUpdate = "UPDATE"
	// RevisionDelete marks the revision that deleted the object; its
	// snapshot is the object as it was before.
	RevisionDelete = "DELETE"
)

// Configs is the handle on the agent instance config endpoints of the
// Grafana Agent config management API: /agent/api/v1/configs and
// /agent/api/v1/config/{name}. Their answers come in the envelope
// {"status":"success"|"error","data":...}; an error answer becomes an
// EnvelopeError.
type Configs struct {
	client *Client
	// base is where the kind's paths start: /agent/api/v1 for metrics
	// configs, /agent/api/v1/logs for logs configs.
	base string
}

// Configs returns the handle on the agent instance config endpoints.
func (c *Client) Configs() *Configs { return &Configs{client: c, base: "/agent/api/v1"} }

// LogsConfigs returns the same handle on the logs instance configs
// nomadlike stores beside them (/agent/api/v1/logs/configs and
// /agent/api/v1/logs/config/{name}), assigned to client agents as the
// metrics ones are.
func (c *Client) LogsConfigs() *Configs { return &Configs{client: c, base: "/agent/api/v1/logs"} }

// InstanceConfig is a stored agent instance config as a revision
// snapshot shows it.
type InstanceConfig struct {
	// Name identifies the config.
	Name string `json:"name"`
	// Contents is the config, a YAML metrics_instance_config.
	Contents string `json:"contents"`
	// CreatedAt is when the config was first written.
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	// UpdatedAt is when the config was last written.
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// ConfigRevision is one change to a config: the config as it stood after
// an insert or update, or before a delete.
type ConfigRevision struct {
	// RevisionID identifies the revision; it is a decimal string.
	RevisionID string `json:"revisionId"`
	// Snapshot is the config at the revision.
	Snapshot *InstanceConfig `json:"snapshot"`
	// CreatedAt is when the change was made.
	CreatedAt time.Time `json:"createdAt"`
	// Operation is RevisionInsert, RevisionUpdate or RevisionDelete.
	Operation string `json:"operation"`
}

// List returns the names of the stored configs (GET /agent/api/v1/configs).
// An empty result is an empty slice, never nil. q.WaitIndex makes it a
// blocking query.
func (s *Configs) List(q *QueryOptions) ([]string, *QueryMeta, error) {
	var data struct {
		Configs []string `json:"configs"`
	}
	qm, err := s.client.envelopeQuery(s.base+"/configs", &data, q)
	if err != nil {
		return nil, nil, err
	}
	if data.Configs == nil {
		data.Configs = []string{}
	}
	return data.Configs, qm, nil
}

// Get returns the YAML of the config called name
// (GET /agent/api/v1/configs/{name}). A missing config is an
// EnvelopeError with status 404.
func (s *Configs) Get(name string, q *QueryOptions) (string, *QueryMeta, error) {
	if name == "" {
		return "", nil, errors.New("config name must not be empty")
	}
	var data struct {
		Value *string `json:"value"`
	}
	qm, err := s.client.envelopeQuery(s.base+"/configs/"+url.PathEscape(name), &data, q)
	if err != nil {
		return "", nil, err
	}
	if data.Value == nil {
		return "", nil, errors.New("decoding response: the answer has no data.value")
	}
	return *data.Value, qm, nil
}

// Put creates the config called name, or replaces it, with the YAML
// contents (PUT /agent/api/v1/config/{name}). created reports whether the
// config is new (201) rather than replaced (200).
func (s *Configs) Put(name, contents string, w *WriteOptions) (created bool, wm *WriteMeta, err error) {
	if name == "" {
		return false, nil, errors.New("config name must not be empty")
	}
	r, err := s.client.newRequest(http.MethodPut, s.base+"/config/"+url.PathEscape(name))
	if err != nil {
		return false, nil, err
	}
	r.setWriteOptions(w)
	r.body = strings.NewReader(contents)
	r.header = http.Header{"Content-Type": {"application/yaml"}}
	rtt, resp, err := s.client.doEnvelope(r, nil)
	if err != nil {
		return false, nil, err
	}
	return resp.StatusCode == http.StatusCreated, writeMeta(rtt, resp), nil
}

// Delete deletes the config called name
// (DELETE /agent/api/v1/config/{name}). A missing config is an
// EnvelopeError with status 404.
func (s *Configs) Delete(name string, w *WriteOptions) (*WriteMeta, error) {
	if name == "" {
		return nil, errors.New("config name must not be empty")
	}
	r, err := s.client.newRequest(http.MethodDelete, s.base+"/config/"+url.PathEscape(name))
	if err != nil {
		return nil, err
	}
	r.setWriteOptions(w)
	rtt, resp, err := s.client.doEnvelope(r, nil)
	if err != nil {
		return nil, err
	}
	return writeMeta(rtt, resp), nil
}

// Revisions returns the history of the config called name, in the
// server's order (GET /agent/api/v1/config/{name}/revisions). An empty result is an
// empty slice, never nil.
func (s *Configs) Revisions(name string, q *QueryOptions) ([]*ConfigRevision, *QueryMeta, error) {
	if name == "" {
		return nil, nil, errors.New("config name must not be empty")
	}
	var data struct {
		Revisions []*ConfigRevision `json:"revisions"`
	}
	qm, err := s.client.envelopeQuery(s.base+"/config/"+url.PathEscape(name)+"/revisions", &data, q)
	if err != nil {
		return nil, nil, err
	}
	if data.Revisions == nil {
		data.Revisions = []*ConfigRevision{}
	}
	return data.Revisions, qm, nil
}

// EnvelopeError is an error answer of the Grafana Agent API family, whose
// body is {"status":"error","data":{"error":"<message>"}}. An answer that is
// not such an envelope (a router's plain-text 404, a proxy's page) keeps
// its trimmed body as the message. Use errors.As with a value of this type:
//
//	var ee api.EnvelopeError
//	if errors.As(err, &ee) && ee.StatusCode() == 404 { ... }
type EnvelopeError struct {
	statusCode int
	message    string
	err        error
}

// newEnvelopeError builds the error of an answer with status code and body
// b; readErr is the error met while reading the body, if any.
func newEnvelopeError(code int, b []byte, readErr error) EnvelopeError {
	e := EnvelopeError{statusCode: code, message: strings.TrimSpace(string(b)), err: readErr}
	var env struct {
		Status string `json:"status"`
		Data   struct {
			Error string `json:"error"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &env) == nil && env.Status == "error" {
		e.message = env.Data.Error
	}
	return e
}

// StatusCode is the HTTP status of the answer, such as 404.
func (e EnvelopeError) StatusCode() int { return e.statusCode }

// StatusText is the standard text of the status, such as "Not Found".
func (e EnvelopeError) StatusText() string { return http.StatusText(e.statusCode) }

// Message is the server's error message, such as
// "configuration foo does not exist".
func (e EnvelopeError) Message() string { return e.message }

// Error reads "Unexpected response code: 404 (configuration foo does not
// exist)", like UnexpectedResponseError, or without the parenthesis when
// there is no message.
func (e EnvelopeError) Error() string {
	msg := fmt.Sprintf("Unexpected response code: %d", e.statusCode)
	if e.message != "" {
		msg += fmt.Sprintf(" (%s)", e.message)
	}
	if e.err != nil {
		msg += fmt.Sprintf(": reading body: %v", e.err)
	}
	return msg
}

// Unwrap returns the error met while reading the body, if any.
func (e EnvelopeError) Unwrap() error { return e.err }

// envelopeQuery runs a GET on endpoint and decodes the answer's data into
// out.
func (c *Client) envelopeQuery(endpoint string, out any, q *QueryOptions) (*QueryMeta, error) {
	r, err := c.newRequest(http.MethodGet, endpoint)
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	rtt, resp, err := c.doEnvelope(r, out)
	if err != nil {
		return nil, err
	}
	qm := &QueryMeta{RequestTime: rtt}
	parseQueryMeta(resp, qm)
	return qm, nil
}

// doEnvelope sends r and decodes the data of the envelope answer into out,
// or checks only its status when out is nil. Any 2xx is a success; every
// other status, or an envelope whose status is "error", is an
// EnvelopeError. The returned response's body is already closed.
func (c *Client) doEnvelope(r *request, out any) (time.Duration, *http.Response, error) {
	rtt, resp, err := c.doRequest(r)
	if err != nil {
		return rtt, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return rtt, nil, newEnvelopeError(resp.StatusCode, b, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rtt, nil, fmt.Errorf("reading response: %w", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 && out == nil {
		return rtt, resp, nil // a bare success without the envelope
	}
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return rtt, nil, fmt.Errorf("decoding response: %w", err)
	}
	switch env.Status {
	case "success":
	case "error":
		return rtt, nil, newEnvelopeError(resp.StatusCode, b, nil)
	default:
		return rtt, nil, fmt.Errorf("decoding response: unknown envelope status %q", env.Status)
	}
	if out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return rtt, nil, fmt.Errorf("decoding response: %w", err)
		}
	}
	return rtt, resp, nil
}

// writeMeta reads the WriteMeta of a write's answer.
func writeMeta(rtt time.Duration, resp *http.Response) *WriteMeta {
	wm := &WriteMeta{RequestTime: rtt}
	wm.LastIndex, _ = strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64)
	return wm
}
