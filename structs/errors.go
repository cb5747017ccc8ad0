package structs

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// rpcCodedErrorMarker starts the string form of every CodedError. net/rpc
// flattens errors to strings; the marker is how DecodeRPCError finds the
// code again, even inside a wrapped error's text.
const rpcCodedErrorMarker = "RPC Error:: "

// CodedError is an error that knows its HTTP status code. Its string form
// is "RPC Error:: <code>,<message>", which survives RPC.
type CodedError struct {
	Code    int
	Message string
}

// NewErrCoded returns a CodedError with the given status and message.
func NewErrCoded(code int, format string, args ...any) error {
	return &CodedError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *CodedError) Error() string {
	return fmt.Sprintf("%s%d,%s", rpcCodedErrorMarker, e.Code, e.Message)
}

// Is makes a decoded error match the sentinel it was made from.
func (e *CodedError) Is(target error) bool {
	t, ok := target.(*CodedError)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// Sentinel errors: compare with errors.Is, on either side of an RPC. The
// messages are those Nomad answers with, where Nomad has one.
var (
	ErrNoLeader         = &CodedError{http.StatusInternalServerError, "No cluster leader"}
	ErrPermissionDenied = &CodedError{http.StatusForbidden, "Permission denied"}
	ErrTokenNotFound    = &CodedError{http.StatusForbidden, "ACL token not found"}
	ErrNotFound         = &CodedError{http.StatusNotFound, "not found"}
	ErrUnknownNode      = &CodedError{http.StatusNotFound, "node not found"}
	ErrShutdown         = &CodedError{http.StatusServiceUnavailable, "server is shutting down"}
	ErrNoServers        = &CodedError{http.StatusInternalServerError, "no known servers"}
	// ErrWriteOutcomeUnknown answers a write that reached a leader which
	// lost its leadership (or its connection) before it could say whether
	// the write committed, and whose retries did not settle it in time.
	ErrWriteOutcomeUnknown = &CodedError{http.StatusServiceUnavailable,
		"unavailable: the write may or may not have been applied (the leader changed before it answered); retry it with the same Idempotency-Key to apply it exactly once"}
)

// ErrorStatus gives the HTTP status and the client-facing message for err:
// a CodedError's own, or 500 with the error's text.
func ErrorStatus(err error) (int, string) {
	var coded *CodedError
	if errors.As(err, &coded) {
		return coded.Code, coded.Message
	}
	return http.StatusInternalServerError, err.Error()
}

// DecodeRPCError turns an error that crossed net/rpc (and so became a bare
// string) back into the CodedError it carried, or a plain error with the
// same text.
func DecodeRPCError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, rpcCodedErrorMarker); i >= 0 {
		rest := msg[i+len(rpcCodedErrorMarker):]
		if codeStr, text, ok := strings.Cut(rest, ","); ok {
			if code, perr := strconv.Atoi(codeStr); perr == nil {
				return &CodedError{Code: code, Message: text}
			}
		}
	}
	return errors.New(msg)
}
