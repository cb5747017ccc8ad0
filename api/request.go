package api

import (
	"bytes"
	"compress/gzip"
	"context"
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

// request is one HTTP call being built.
type request struct {
	method string
	path   string // escaped
	params url.Values
	token  string
	body   io.Reader
	ctx    context.Context

	// header is set on the request last, so it may replace the
	// Content-Type the client would send.
	header http.Header
}

// newRequest starts a request for path, which may carry a query string.
func (c *Client) newRequest(method, path string) (*request, error) {
	u, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("invalid path %q: %w", path, err)
	}
	r := &request{
		method: method,
		path:   u.EscapedPath(),
		params: u.Query(),
		token:  c.Token(),
		ctx:    context.Background(),
	}
	if c.waitTime > 0 {
		r.params.Set("wait", durToMsec(c.waitTime))
	}
	return r, nil
}

// setQueryOptions copies q into the request.
func (r *request) setQueryOptions(q *QueryOptions) {
	if q == nil {
		return
	}
	if q.AllowStale {
		r.params.Set("stale", "")
	}
	if q.RequireConsistent {
		r.params.Set("consistent", "")
	}
	if q.WaitIndex != 0 {
		r.params.Set("index", strconv.FormatUint(q.WaitIndex, 10))
	}
	if q.WaitTime != 0 {
		r.params.Set("wait", durToMsec(q.WaitTime))
	}
	if q.Prefix != "" {
		r.params.Set("prefix", q.Prefix)
	}
	for k, v := range q.Params {
		r.params.Set(k, v)
	}
	if q.AuthToken != "" {
		r.token = q.AuthToken
	}
	r.ctx = q.Context()
}

// setWriteOptions copies q into the request.
func (r *request) setWriteOptions(q *WriteOptions) {
	if q == nil {
		return
	}
	if q.AuthToken != "" {
		r.token = q.AuthToken
	}
	if q.IdempotencyKey != "" {
		if r.header == nil {
			r.header = http.Header{}
		}
		r.header.Set("Idempotency-Key", q.IdempotencyKey)
	}
	r.ctx = q.Context()
}

// setBody encodes obj as the JSON request body; nil sends no body.
func (r *request) setBody(obj any) error {
	if obj == nil {
		return nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encoding request body: %w", err)
	}
	r.body = bytes.NewReader(b)
	return nil
}

// doRequest sends r. A gzipped answer has its body decompressed in place.
// The caller must close the response body.
func (c *Client) doRequest(r *request) (time.Duration, *http.Response, error) {
	target := c.baseURL.String() + r.path
	if len(r.params) > 0 {
		target += "?" + r.params.Encode()
	}
	req, err := http.NewRequestWithContext(r.ctx, r.method, target, r.body)
	if err != nil {
		return 0, nil, err
	}
	for k, vs := range c.headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.token != "" {
		req.Header.Set(TokenHeader, r.token)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range r.header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}

	start := time.Now()
	resp, err := c.httpClient.Do(req)
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, nil, err
	}
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil && !errors.Is(err, io.EOF) {
			resp.Body.Close()
			return elapsed, nil, fmt.Errorf("decompressing response: %w", err)
		}
		resp.Body = &gzipBody{zr: zr, raw: resp.Body}
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
	}
	return elapsed, resp, nil
}

// gzipBody reads through a gzip reader and closes the raw body. zr is nil
// when the gzipped body was empty.
type gzipBody struct {
	zr  *gzip.Reader
	raw io.ReadCloser
}

// Read reads decompressed bytes.
func (g *gzipBody) Read(p []byte) (int, error) {
	if g.zr == nil {
		return 0, io.EOF
	}
	return g.zr.Read(p)
}

// Close closes the raw body.
func (g *gzipBody) Close() error { return g.raw.Close() }

// requireOK turns any status but 200 into an UnexpectedResponseError and
// closes the body in that case.
func requireOK(d time.Duration, resp *http.Response, err error) (time.Duration, *http.Response, error) {
	if err != nil {
		return d, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return d, nil, newUnexpectedResponseError(resp)
	}
	return d, resp, nil
}

// decodeBody decodes the JSON body of resp into out.
func decodeBody(resp *http.Response, out any) error {
	if resp.ContentLength == 0 {
		return errors.New("Got 0 byte response with non-nil decode object")
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}

// query runs a GET on endpoint and decodes the answer into out.
func (c *Client) query(endpoint string, out any, q *QueryOptions) (*QueryMeta, error) {
	r, err := c.newRequest(http.MethodGet, endpoint)
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	rtt, resp, err := requireOK(c.doRequest(r))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	qm := &QueryMeta{RequestTime: rtt}
	parseQueryMeta(resp, qm)
	if out != nil {
		if err := decodeBody(resp, out); err != nil {
			return nil, err
		}
	}
	return qm, nil
}

// put runs a PUT on endpoint with in as its JSON body (nil for none) and
// decodes the answer into out (nil to ignore it).
func (c *Client) put(endpoint string, in, out any, q *WriteOptions) (*WriteMeta, error) {
	return c.write(http.MethodPut, endpoint, in, out, q)
}

// delete is put with the DELETE method.
func (c *Client) delete(endpoint string, in, out any, q *WriteOptions) (*WriteMeta, error) {
	return c.write(http.MethodDelete, endpoint, in, out, q)
}

// write is the body of put and delete.
func (c *Client) write(method, endpoint string, in, out any, q *WriteOptions) (*WriteMeta, error) {
	r, err := c.newRequest(method, endpoint)
	if err != nil {
		return nil, err
	}
	r.setWriteOptions(q)
	if err := r.setBody(in); err != nil {
		return nil, err
	}
	rtt, resp, err := requireOK(c.doRequest(r))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	wm := &WriteMeta{RequestTime: rtt}
	wm.LastIndex, _ = strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64)
	if out != nil {
		if err := decodeBody(resp, out); err != nil {
			return nil, err
		}
	}
	return wm, nil
}

// parseQueryMeta fills q from the X-Nomad-* headers. The agent endpoints do
// not set them, so a missing or malformed header leaves its zero value.
func parseQueryMeta(resp *http.Response, q *QueryMeta) {
	h := resp.Header
	q.LastIndex, _ = strconv.ParseUint(h.Get("X-Nomad-Index"), 10, 64)
	if ms, err := strconv.ParseUint(h.Get("X-Nomad-LastContact"), 10, 64); err == nil {
		q.LastContact = time.Duration(ms) * time.Millisecond
	}
	q.KnownLeader = h.Get("X-Nomad-KnownLeader") == "true"
}

// durToMsec formats d as whole milliseconds, as "wait" expects; a positive
// duration under 1ms rounds up to 1ms.
func durToMsec(d time.Duration) string {
	ms := d / time.Millisecond
	if d > 0 && ms == 0 {
		ms = 1
	}
	return fmt.Sprintf("%dms", ms)
}
