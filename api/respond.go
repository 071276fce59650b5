package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
)

// What every route shares: reading a body within a limit, and the shapes of the answers,
// lists and errors, written as JSON.

// readBody reads at most limit bytes, answering 413 past it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is larger than %d bytes", limit), "")
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request", "could not read the body: "+err.Error(), "")
		return nil, false
	}
	return body, true
}

// List is the shape of every list answer.
type List[T any] struct {
	Object string `json:"object"`
	Data   []T    `json:"data"`
	// Total counts Data, this page.
	Total int `json:"total"`
	// HasMore tells that a list read a page at a time (the delivery log) goes on: pass
	// NextPageToken as ?page_token= to read on.
	HasMore       bool   `json:"has_more"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

func list[T any](items []T) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Object: "list", Data: items, Total: len(items)}
}

// ErrorBody is the shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong and, when one field is at fault, which.
type ErrorDetail struct {
	Type     string                  `json:"type"`
	Message  string                  `json:"message"`
	Field    string                  `json:"field,omitempty"`
	Problems []distributions.Problem `json:"problems,omitempty"`
	// RequestID is the request's id (RequestIDHeader), for a report to name.
	RequestID string `json:"request_id,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, msg, field string) {
	writeErrorDetail(w, status, ErrorDetail{Type: typ, Message: msg, Field: field})
}

// writeErrorDetail answers an error with the request's id, which AccessLog put in the
// answer's header before the handler ran.
func writeErrorDetail(w http.ResponseWriter, status int, detail ErrorDetail) {
	detail.RequestID = w.Header().Get(RequestIDHeader)
	writeJSON(w, status, ErrorBody{detail})
}

// writeConflict answers 409: the request is sound, but the state of what it names is not
// one it can change now. Every 409 has the type "conflict" and says, after what the state
// is, what to do next (resume, wait, pause to skip, get the new version), so a client
// reads one kind of error and a user one kind of advice.
func writeConflict(w http.ResponseWriter, field, state, next string) {
	writeError(w, http.StatusConflict, "conflict", state+"; "+next, field)
}

func writeValidation(w http.ResponseWriter, status int, err error) {
	var ve *distributions.ValidationError
	if !errors.As(err, &ve) {
		writeError(w, status, "invalid_request", err.Error(), "")
		return
	}
	detail := ErrorDetail{Type: "validation_error", Message: ve.Error(), Problems: ve.Problems}
	if len(ve.Problems) == 1 {
		detail.Field = ve.Problems[0].Field
	}
	writeErrorDetail(w, status, detail)
}

// failed answers an error, if there is one: 404 for a missing record (what names the kind,
// e.g. "get distribution"), 500 otherwise. It reports whether it answered.
func (s *Server) failed(w http.ResponseWriter, err error, what, id string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, store.ErrNotFound):
		kind := what[strings.LastIndex(what, " ")+1:]
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no %s with id %q", kind, id), "id")
	default:
		s.internal(w, what, err)
	}
	return true
}

func (s *Server) internal(w http.ResponseWriter, what string, err error) {
	s.logger().Error(what, "error", err)
	writeError(w, http.StatusInternalServerError, "internal", what+" failed; see the server log", "")
}
