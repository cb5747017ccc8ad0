package api

import (
	"io"
	"net/http"
	"strconv"
)

// Snapshot streams a snapshot archive of the cluster's whole replicated
// state (GET /v1/operator/snapshot; management token). The caller must
// close the reader. A transfer that breaks off ends in a read error, never
// in a short clean read, and the archive carries checksums that
// `nomadlike operator snapshot inspect` and a restore verify.
func (op *Operator) Snapshot(q *QueryOptions) (io.ReadCloser, error) {
	r, err := op.client.newRequest(http.MethodGet, "/v1/operator/snapshot")
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	_, resp, err := requireOK(op.client.doRequest(r))
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SnapshotRestore replaces the cluster's whole replicated state with the
// archive read from in (PUT /v1/operator/snapshot; management token). The
// leader verifies the archive whole before it changes anything.
func (op *Operator) SnapshotRestore(q *WriteOptions, in io.Reader) (*WriteMeta, error) {
	r, err := op.client.newRequest(http.MethodPut, "/v1/operator/snapshot")
	if err != nil {
		return nil, err
	}
	r.setWriteOptions(q)
	r.body = in
	r.header = http.Header{"Content-Type": {"application/gzip"}}
	rtt, resp, err := requireOK(op.client.doRequest(r))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	wm := &WriteMeta{RequestTime: rtt}
	wm.LastIndex, _ = strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64)
	return wm, nil
}
