package api

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxErrorBody bounds how much of an error body is kept.
const maxErrorBody = 64 << 10

// UnexpectedResponseError is returned when the agent answers with a status
// other than 200. The agent writes errors as a plain-text message, which
// Body returns. Use errors.As with a value of this type:
//
//	var ure api.UnexpectedResponseError
//	if errors.As(err, &ure) && ure.StatusCode() == 403 { ... }
type UnexpectedResponseError struct {
	statusCode int
	statusText string
	body       string
	err        error
}

// newUnexpectedResponseError reads and closes the body of resp.
func newUnexpectedResponseError(resp *http.Response) UnexpectedResponseError {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return UnexpectedResponseError{
		statusCode: resp.StatusCode,
		statusText: http.StatusText(resp.StatusCode),
		body:       strings.TrimSpace(string(b)),
		err:        err,
	}
}

// StatusCode is the HTTP status of the answer, such as 403.
func (e UnexpectedResponseError) StatusCode() int { return e.statusCode }

// StatusText is the standard text of the status, such as "Forbidden".
func (e UnexpectedResponseError) StatusText() string { return e.statusText }

// Body is the answer's body with surrounding whitespace trimmed, such as
// "Permission denied".
func (e UnexpectedResponseError) Body() string { return e.body }

// Error reads "Unexpected response code: 403 (Permission denied)", or
// "Unexpected response code: 404" when the body is empty.
func (e UnexpectedResponseError) Error() string {
	msg := fmt.Sprintf("Unexpected response code: %d", e.statusCode)
	if e.body != "" {
		msg += fmt.Sprintf(" (%s)", e.body)
	}
	if e.err != nil {
		msg += fmt.Sprintf(": reading body: %v", e.err)
	}
	return msg
}

// Unwrap returns the error met while reading the body, if any.
func (e UnexpectedResponseError) Unwrap() error { return e.err }
