package promapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/annotations"
)

// ErrorType is the "errorType" of a Prometheus error body.
type ErrorType string

// The error types of Prometheus' HTTP API (web/api/v1).
const (
	ErrorTypeTimeout       ErrorType = "timeout"
	ErrorTypeCanceled      ErrorType = "canceled"
	ErrorTypeExec          ErrorType = "execution"
	ErrorTypeBadData       ErrorType = "bad_data"
	ErrorTypeInternal      ErrorType = "internal"
	ErrorTypeUnavailable   ErrorType = "unavailable"
	ErrorTypeNotFound      ErrorType = "not_found"
	ErrorTypeNotAcceptable ErrorType = "not_acceptable"
	ErrorTypeCostLimit     ErrorType = "cost_limit"
)

// statusClientClosedConnection is nginx's 499, which Prometheus answers a
// canceled query with.
const statusClientClosedConnection = 499

// Error lets a Queryable (or its querier) choose how its failure is
// reported, for instance ErrorTypeUnavailable while the local TSDB is not
// open yet; any other error is classified as Prometheus does.
type Error struct {
	Type ErrorType
	Err  error
}

// Error returns the wrapped error's message, which is what Prometheus puts
// in "error".
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// StatusCode is the HTTP status Prometheus answers an error type with,
// except that "unavailable" is 503 here (Prometheus' default mapping
// leaves it at 500, which tells a client not to retry).
func StatusCode(t ErrorType) int {
	switch t {
	case ErrorTypeBadData:
		return http.StatusBadRequest
	case ErrorTypeExec, ErrorTypeCostLimit:
		return http.StatusUnprocessableEntity
	case ErrorTypeCanceled:
		return statusClientClosedConnection
	case ErrorTypeTimeout, ErrorTypeUnavailable:
		return http.StatusServiceUnavailable
	case ErrorTypeNotFound:
		return http.StatusNotFound
	case ErrorTypeNotAcceptable:
		return http.StatusNotAcceptable
	default:
		return http.StatusInternalServerError
	}
}

// response is Prometheus' envelope (web/api/v1.Response).
type response struct {
	Status    string   `json:"status"`
	Data      any      `json:"data,omitempty"`
	ErrorType string   `json:"errorType,omitempty"`
	Error     string   `json:"error,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
	Infos     []string `json:"infos,omitempty"`
}

// WriteError writes a Prometheus error body, so that the layer mounting
// these handlers answers its own 401, 403 and 429 in the format Prometheus
// clients (Grafana, promtool) parse.
func WriteError(w http.ResponseWriter, status int, errorType, msg string) {
	b, err := json.Marshal(&response{Status: "error", ErrorType: errorType, Error: msg})
	if err != nil {
		// Marshalling two strings cannot fail; keep the status anyway.
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// apiError is a failure on its way to WriteError.
type apiError struct {
	typ ErrorType
	err error
}

func badData(err error) *apiError { return &apiError{ErrorTypeBadData, err} }

// invalidParam is Prometheus' wording for a parameter it cannot use.
func invalidParam(name string, err error) *apiError {
	return badData(fmt.Errorf("invalid parameter %q: %w", name, err))
}

// classify maps an engine or storage error to its error type as
// Prometheus' returnAPIError does; def is the type of anything unknown
// (Prometheus uses "execution" for query results and querier calls).
func classify(err error, def ErrorType) *apiError {
	var own *Error
	var eqc promql.ErrQueryCanceled
	var eqt promql.ErrQueryTimeout
	var etms promql.ErrTooManySeries
	var etmsr promql.ErrTooManySamplesRead
	var es promql.ErrStorage
	switch {
	case errors.As(err, &own):
		return &apiError{own.Type, err}
	case errors.As(err, &eqc):
		return &apiError{ErrorTypeCanceled, err}
	case errors.As(err, &eqt):
		return &apiError{ErrorTypeTimeout, err}
	case errors.As(err, &etms), errors.As(err, &etmsr):
		return &apiError{ErrorTypeCostLimit, err}
	case errors.As(err, &es):
		return &apiError{ErrorTypeInternal, err}
	case errors.Is(err, context.Canceled):
		return &apiError{ErrorTypeCanceled, err}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{ErrorTypeTimeout, err}
	}
	return &apiError{def, err}
}

// respond writes a success envelope. Warnings and infos are capped at 10
// each, as Prometheus does, with a line saying how many were left out.
func (a *API) respond(w http.ResponseWriter, r *http.Request, data any, annos annotations.Annotations, query string) {
	warns, infos := annos.AsStrings(query, 10, 10)
	b, err := json.Marshal(&response{Status: "success", Data: data, Warnings: warns, Infos: infos})
	if err != nil {
		a.logger().Error("encoding response", "path", r.URL.Path, "error", err)
		WriteError(w, http.StatusInternalServerError, string(ErrorTypeInternal), "encoding response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		a.logger().Debug("writing response", "path", r.URL.Path, "error", err)
	}
}

// respondError writes e with its status.
func (a *API) respondError(w http.ResponseWriter, e *apiError) {
	if e.typ == ErrorTypeInternal {
		a.logger().Error("query API", "error", e.err)
	}
	WriteError(w, StatusCode(e.typ), string(e.typ), e.err.Error())
}
