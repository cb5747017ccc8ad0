package structs

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Messages of the sentinel errors. They are part of the wire format: net/rpc
// flattens every error to its string, and DecodeRPCError turns these exact
// strings back into the sentinels.
const (
	errNoLeader         = "No cluster leader"
	errPermissionDenied = "Permission denied"
	errTokenNotFound    = "ACL token not found"
	errNotFound         = "not found"
	errInvalidMethod    = "Invalid method"
	errUnknownNode      = "node not found"
	errNotServer        = "this agent is not a server"
	errShutdown         = "server is shutting down"
	errNoServers        = "no known servers"
	errRaftPeerNotFound = "peer not found in Raft configuration"
	rpcCodedErrorPrefix = "RPC Error:: "
)

// Sentinel errors. Compare with errors.Is; their HTTP status is in
// ErrorStatus.
var (
	ErrNoLeader         = errors.New(errNoLeader)
	ErrPermissionDenied = errors.New(errPermissionDenied)
	ErrTokenNotFound    = errors.New(errTokenNotFound)
	ErrNotFound         = errors.New(errNotFound)
	ErrInvalidMethod    = errors.New(errInvalidMethod)
	ErrUnknownNode      = errors.New(errUnknownNode)
	ErrNotServer        = errors.New(errNotServer)
	ErrShutdown         = errors.New(errShutdown)
	ErrNoServers        = errors.New(errNoServers)
	ErrRaftPeerNotFound = errors.New(errRaftPeerNotFound)
)

// sentinelStatus is the one table from sentinel error to HTTP status.
var sentinelStatus = map[error]int{
	ErrNoLeader:         http.StatusInternalServerError,
	ErrPermissionDenied: http.StatusForbidden,
	ErrTokenNotFound:    http.StatusForbidden,
	ErrNotFound:         http.StatusNotFound,
	ErrInvalidMethod:    http.StatusMethodNotAllowed,
	ErrUnknownNode:      http.StatusNotFound,
	ErrNotServer:        http.StatusBadRequest,
	ErrShutdown:         http.StatusServiceUnavailable,
	ErrNoServers:        http.StatusInternalServerError,
	ErrRaftPeerNotFound: http.StatusBadRequest,
}

// CodedError is an error that knows its HTTP status code. It survives RPC:
// its string form is "RPC Error:: <code>,<message>", which DecodeRPCError
// parses back.
type CodedError struct {
	Code    int
	Message string
}

// NewErrCoded returns a CodedError with the given status and message.
func NewErrCoded(code int, format string, args ...any) error {
	return &CodedError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *CodedError) Error() string {
	return fmt.Sprintf("%s%d,%s", rpcCodedErrorPrefix, e.Code, e.Message)
}

// ErrorStatus gives the HTTP status and the client-facing message for err:
// the code of a CodedError, the table entry of a sentinel, or 500 with the
// error's text.
func ErrorStatus(err error) (int, string) {
	var coded *CodedError
	if errors.As(err, &coded) {
		return coded.Code, coded.Message
	}
	for sentinel, code := range sentinelStatus {
		if errors.Is(err, sentinel) {
			return code, sentinel.Error()
		}
	}
	return http.StatusInternalServerError, err.Error()
}

// DecodeRPCError turns an error that crossed net/rpc (and so became a bare
// string) back into the error the server returned: a CodedError, one of the
// sentinels, or a plain error with the same text.
func DecodeRPCError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, rpcCodedErrorPrefix); ok {
		if codeStr, text, ok := strings.Cut(rest, ","); ok {
			if code, perr := strconv.Atoi(codeStr); perr == nil {
				return &CodedError{Code: code, Message: text}
			}
		}
	}
	for sentinel := range sentinelStatus {
		if msg == sentinel.Error() {
			return sentinel
		}
	}
	return errors.New(msg)
}
