package agent

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/structs"
)

// snapshotStartTimeout bounds the wait for the leader to take a snapshot
// and start sending it, or to refuse.
const snapshotStartTimeout = 5 * time.Minute

// snapshotUploadChunk is the payload size of one upload message.
const snapshotUploadChunk = 64 << 10

// snapshotMaxBytes bounds a restore's body (413 past it); a variable so
// that a test can lower it.
var snapshotMaxBytes = nomadlike.MaxSnapshotBytes

// OperatorSnapshotRequest is /v1/operator/snapshot: GET saves a snapshot
// of the whole replicated state, PUT restores one (Nomad's API).
func (s *HTTPServer) OperatorSnapshotRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	switch req.Method {
	case http.MethodGet:
		return s.snapshotSave(resp, req)
	case http.MethodPut, http.MethodPost:
		return s.snapshotRestore(resp, req)
	}
	return nil, errMethodNotAllowed
}

// snapshotSave streams the leader's archive to the caller. Once the 200 is
// out, a failure can no longer change the status: the response is then
// aborted, so the caller sees a broken transfer and not a short file.
func (s *HTTPServer) snapshotSave(resp http.ResponseWriter, req *http.Request) (any, error) {
	var args structs.GenericRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	// A snapshot is the leader's, whatever ?stale says.
	args.AllowStale = false
	conn, err := s.openSnapshotStream("Operator.SnapshotSave", &args)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	go func() { <-req.Context().Done(); conn.Close() }()

	resp.Header().Set("Content-Type", "application/gzip")
	resp.Header().Set("Content-Disposition", `attachment; filename="nomadlike.snap"`)
	resp.WriteHeader(http.StatusOK)
	for {
		payload, err := conn.Recv()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			s.logger.Error("snapshot save failed after it started", "error", err)
			panic(http.ErrAbortHandler)
		}
		if _, err := resp.Write(payload); err != nil {
			return nil, nil
		}
	}
}

// openSnapshotStream opens the streaming RPC method, sends args and waits,
// within snapshotStartTimeout, for the leader's acceptance: a refusal (a
// token, no leader) arrives before any byte of the archive moves.
func (s *HTTPServer) openSnapshotStream(method string, args any) (*nomadlike.StreamConn, error) {
	conn, err := s.agent.streamingRPC(method)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(snapshotStartTimeout))
	if err := conn.Encode(args); err == nil {
		_, err = conn.Recv()
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// snapshotRestore sends the body to the leader, which checks it whole
// before it restores anything.
func (s *HTTPServer) snapshotRestore(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.ContentLength > snapshotMaxBytes {
		return nil, structs.NewErrCoded(http.StatusRequestEntityTooLarge,
			"snapshot exceeds the limit of %d bytes", snapshotMaxBytes)
	}
	var args structs.WriteRequest
	s.parseWriteRequest(req, &args)
	conn, err := s.openSnapshotStream("Operator.SnapshotRestore", &args)
	if err != nil {
		return nil, err
	}
	defer conn.Close()

	// The leader may refuse in the middle of the upload (a corrupt
	// archive): its answer is read while the body is still being sent.
	uploadErr := make(chan error, 1)
	go func() { uploadErr <- sendUpload(conn, req.Body) }()
	payload, err := conn.Recv()
	conn.Close()
	upErr := <-uploadErr
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(upErr, &tooLarge):
		return nil, structs.NewErrCoded(http.StatusRequestEntityTooLarge,
			"snapshot exceeds the limit of %d bytes", snapshotMaxBytes)
	case upErr != nil && errors.Is(upErr, errBodyRead):
		return nil, structs.NewErrCoded(http.StatusBadRequest, "reading the snapshot: %v", upErr)
	case err != nil:
		return nil, err
	}
	var out structs.GenericResponse
	if err := codec.NewDecoderBytes(payload, structs.MsgpackHandle).Decode(&out); err != nil {
		return nil, err
	}
	setIndex(resp, out.Index)
	return &struct{ Index uint64 }{out.Index}, nil
}

// errBodyRead marks a failure to read the caller's body (as opposed to a
// failure to send it on).
var errBodyRead = errors.New("body")

// sendUpload sends body as upload messages and then the empty end message.
func sendUpload(conn *nomadlike.StreamConn, body io.Reader) error {
	body = http.MaxBytesReader(nil, io.NopCloser(body), snapshotMaxBytes)
	buf := make([]byte, snapshotUploadChunk)
	for {
		n, err := io.ReadFull(body, buf)
		if n > 0 {
			if err := conn.Send(bytes.Clone(buf[:n])); err != nil {
				return err
			}
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return conn.Send(nil)
		case err != nil:
			conn.Close()
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return err
			}
			return errors.Join(errBodyRead, err)
		}
	}
}
