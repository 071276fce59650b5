package api

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

// Manual and bulk messages: POST /v1/distributions/{id}/messages sends the distribution a
// manual_distribution_schedule event for each customer of the body, after a delay in which
// DELETE /v1/messages/{id} can still cancel them all; a workflow per message sends them.
// The body's formats, limits and checks are in customers.go.

// Limits of a message other than its customers.
const (
	// MaxMessageDelay bounds how long a message may wait before it is sent.
	MaxMessageDelay = 7 * 24 * time.Hour
	// DefaultMessageDelay is the delay of a message that names none: the window in which it
	// can still be canceled.
	DefaultMessageDelay = 10 * time.Minute
	// MaxMessageIDLength bounds a message id chosen by the client, so that the event ids
	// derived from it (id-seq) stay within payloads.MaxEventIDLength.
	MaxMessageIDLength = 64
)

// MessageView is a message as the API shows it.
type MessageView struct {
	Object string `json:"object"`
	store.Message
	Delay      string `json:"delay"`
	WorkflowID string `json:"workflow_id"`
}

func messageView(m store.Message) MessageView {
	return MessageView{Object: "message", Message: m, Delay: m.Delay.String(), WorkflowID: starter.MessageWorkflowID(m.ID)}
}

func (s *Server) messageStarter(w http.ResponseWriter) (MessageStarter, bool) {
	ms, ok := s.Starter.(MessageStarter)
	if !ok {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server cannot start messages", "")
	}
	return ms, ok
}

// messageProblem is why a distribution cannot take a message: the status, and the field at
// fault.
type messageProblem struct {
	status int
	field  string
	msg    string
}

func problem(status int, field, format string, args ...any) *messageProblem {
	return &messageProblem{status: status, field: field, msg: fmt.Sprintf(format, args...)}
}

// createMessage stores a message and its customers and starts its workflow:
// POST /v1/distributions/{id}/messages with {"customer": {...}} or {"customers": [...]}
// (and optional "delay", "id"), or a file of customers as application/x-ndjson or text/csv
// (with ?delay= and ?id=).
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	ms, ok := s.messageStarter(w)
	if !ok {
		return
	}
	distrID := r.PathValue("id")
	d, err := s.Store.GetDistribution(r.Context(), distrID)
	if s.failed(w, err, "get distribution", distrID) {
		return
	}
	if p := messageDistributionProblem(d, s.now()); p != nil {
		writeError(w, p.status, errorType(p.status), p.msg, p.field)
		return
	}
	req, ok := readMessageRequest(w, r)
	if !ok {
		return
	}
	delay := DefaultMessageDelay
	if req.delay != nil {
		v, err := distributions.ParseDuration(*req.delay)
		if err != nil || v < 0 || v > MaxMessageDelay {
			writeError(w, http.StatusBadRequest, "invalid_request",
				fmt.Sprintf("delay: %q is not a duration from 0s to %s, such as 2s, 10m or 1h", *req.delay, "168h"), "delay")
			return
		}
		delay = v
	}
	if p := checkCustomers(req); p != nil {
		writeCustomerProblem(w, p)
		return
	}
	now := s.now().UTC()
	id := req.id
	if id == "" {
		id = payloads.NewID("msg_")
	} else if existing, err := s.Store.GetMessage(r.Context(), id); err == nil {
		s.repeatMessage(w, r, ms, existing, distrID, len(req.customers))
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.internal(w, "get message", err)
		return
	}
	m := store.Message{ID: id, DistributionID: d.ID, DistributionName: d.Name, Status: store.MessageScheduled,
		Delay: delay, SendAt: now.Add(delay), Total: len(req.customers), CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateMessage(r.Context(), m, req.customers); errors.Is(err, store.ErrConflict) {
		// Another request stored this id meanwhile, such as the client's own retry of a
		// slow upload: it gets what a later retry gets.
		if existing, gerr := s.Store.GetMessage(r.Context(), id); gerr == nil {
			s.repeatMessage(w, r, ms, existing, distrID, len(req.customers))
			return
		}
		writeConflict(w, "id", fmt.Sprintf("message %s exists already", id), "send yours under another id, or leave id out to have one made")
		return
	} else if err != nil {
		s.internal(w, "store message", err)
		return
	}
	if _, err := s.startMessage(r.Context(), ms, m); err != nil {
		s.logger().Error("start message", "message", m.ID, "error", err)
		// Canceled in the store, the message can never send (its workflow, if the start did
		// go through, stops when it finds it canceled before the first customer).
		if _, cerr := s.Store.CancelMessage(context.WithoutCancel(r.Context()), m.ID, s.now()); cerr != nil {
			s.logger().Error("cancel unstarted message", "message", m.ID, "error", cerr)
		}
		writeError(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("message %s could not be scheduled now and will not be sent; send it again under a new id", m.ID), "")
		return
	}
	writeJSON(w, http.StatusCreated, messageView(m))
}

// repeatMessage answers a POST whose id names a stored message: the same message again (a
// client retrying) gets it back, and its workflow started if the first POST could not;
// another message under that id is a conflict.
func (s *Server) repeatMessage(w http.ResponseWriter, r *http.Request, ms MessageStarter, m store.Message, distrID string, total int) {
	if m.DistributionID != distrID || m.Total != total {
		writeConflict(w, "id", fmt.Sprintf("message %s exists already, for distribution %s with %d customers", m.ID, m.DistributionID, m.Total),
			"send yours under another id, or leave id out to have one made")
		return
	}
	if m.Status == store.MessageScheduled {
		if _, err := s.startMessage(r.Context(), ms, m); err != nil {
			s.logger().Error("start message", "message", m.ID, "error", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("message %s could not be scheduled now; send it again", m.ID), "")
			return
		}
	}
	writeJSON(w, http.StatusOK, messageView(m))
}

// messageStartTimeout bounds starting a message's workflow.
const messageStartTimeout = 30 * time.Second

// startMessage starts m's workflow. A client that hangs up does not stop it: its message is
// stored by then, and a start cut short would leave it canceled.
func (s *Server) startMessage(ctx context.Context, ms MessageStarter, m store.Message) (starter.Handle, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), messageStartTimeout)
	defer cancel()
	return ms.StartMessage(ctx, starter.MessageInput{MessageID: m.ID, SendAt: m.SendAt, Total: m.Total})
}

func errorType(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnprocessableEntity:
		return "validation_error"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusConflict:
		return "conflict"
	}
	return "invalid_request"
}

// messageDistributionProblem says why d cannot send a manual message, or nil.
func messageDistributionProblem(d distributions.Distribution, now time.Time) *messageProblem {
	subscribed := false
	for _, p := range d.Trigger.Events {
		subscribed = subscribed || payloads.MatchesPattern(p, payloads.ManualEventType)
	}
	switch {
	case !subscribed:
		return problem(http.StatusUnprocessableEntity, "trigger.events",
			"distribution %s does not take %s events: add it to its trigger.events", d.ID, payloads.ManualEventType)
	case !payloads.ActionAllowed(d.Action.Type, payloads.ManualEventType):
		return problem(http.StatusUnprocessableEntity, "action.type",
			"distribution %s has action %s, which manual messages do not allow: use notify_promotion or publish_code", d.ID, d.Action.Type)
	case d.Status != distributions.StatusLive:
		return problem(http.StatusConflict, "status",
			"distribution %s is %s: resume it first (hookflow distributions resume %s)", d.ID, d.Status, d.ID)
	case d.Trigger.LiveUntil != nil && !now.Before(*d.Trigger.LiveUntil):
		return problem(http.StatusConflict, "trigger.live_until", "distribution %s stopped taking events at %s; move its trigger.live_until later (hookflow distributions update %s -f FILE) to send through it", d.ID, d.Trigger.LiveUntil.UTC().Format(time.RFC3339), d.ID)
	}
	return nil
}

var messageIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// readMessageRequest reads the body in its format (see parseCustomers) and, for a file of
// customers, the message's id and delay from the query. It answers a problem itself.
func readMessageRequest(w http.ResponseWriter, r *http.Request) (messageRequest, bool) {
	ct := r.Header.Get("content-type")
	mediaType := "application/json"
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("content-type %q: %v", ct, err), "")
			return messageRequest{}, false
		}
		mediaType = mt
	}
	q := r.URL.Query()
	body, ok := readBody(w, r, MaxMessageBytes)
	if !ok {
		return messageRequest{}, false
	}
	req, p := parseCustomers(mediaType, body)
	if p != nil {
		writeCustomerProblem(w, p)
		return req, false
	}
	if mediaType == "application/json" {
		if q.Has("delay") || q.Has("id") {
			writeError(w, http.StatusBadRequest, "invalid_request", `give delay and id in the JSON body, not as ?delay= or ?id=`, "")
			return req, false
		}
	} else {
		if q.Has("delay") {
			v := q.Get("delay")
			req.delay = &v
		}
		req.id = q.Get("id")
	}
	if req.id != "" {
		if len(req.id) > MaxMessageIDLength || !messageIDPattern.MatchString(req.id) {
			writeError(w, http.StatusBadRequest, "invalid_request",
				fmt.Sprintf("id: at most %d letters, digits, '_', '.', ':' and '-', starting with a letter or digit", MaxMessageIDLength), "id")
			return req, false
		}
	}
	return req, true
}

// writeCustomerProblem answers a problem of the body (customers.go).
func writeCustomerProblem(w http.ResponseWriter, p *customerProblem) {
	if p.problems != nil {
		writeValidation(w, p.status(), &distributions.ValidationError{Problems: p.problems})
		return
	}
	writeError(w, p.status(), errorType(p.status()), p.Error(), p.field)
}

// status is the HTTP status that answers p.
func (p *customerProblem) status() int {
	switch p.kind {
	case tooLarge:
		return http.StatusRequestEntityTooLarge
	case invalidCustomers:
		return http.StatusUnprocessableEntity
	case unknownFormat:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	m, err := s.Store.GetMessage(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "get message", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, messageView(m))
}

// listMessages lists messages, newest first, a page at a time (paging.go).
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	p, ok := pageQuery(w, r)
	if !ok {
		return
	}
	page, err := s.Store.PageMessages(r.Context(), p)
	writePage(s, w, "messages", page, err, messageView)
}

// cancelTimeout bounds how long DELETE waits for the message's workflow to answer.
const cancelTimeout = 15 * time.Second

// cancelMessage cancels a message during its delay: 200 with the canceled message (again:
// the same), 409 once sending began.
func (s *Server) cancelMessage(w http.ResponseWriter, r *http.Request) {
	ms, ok := s.messageStarter(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	m, err := s.Store.GetMessage(r.Context(), id)
	if s.failed(w, err, "get message", id) {
		return
	}
	refuse := func(reason string) {
		writeConflict(w, "status", reason+": a message can be canceled only during its delay",
			fmt.Sprintf("to skip what is left, pause its distribution (hookflow distributions pause %s)", m.DistributionID))
	}
	switch m.Status {
	case store.MessageCanceled:
		writeJSON(w, http.StatusOK, messageView(m))
		return
	case store.MessageSending, store.MessageSent:
		refuse(fmt.Sprintf("message %s is already %s", id, m.Status))
		return
	}
	// The workflow decides: its answer and its start of sending cannot cross.
	ctx, cancel := context.WithTimeout(r.Context(), cancelTimeout)
	defer cancel()
	p, err := ms.CancelMessage(ctx, id)
	at := s.now()
	switch {
	case err == nil:
		if p.CanceledAt != nil {
			at = *p.CanceledAt
		}
	case errors.Is(err, starter.ErrNotCancelable):
		refuse(strings.TrimPrefix(err.Error(), starter.ErrNotCancelable.Error()+": "))
		return
	case errors.Is(err, starter.ErrMessageClosed):
		// No workflow runs it: it was never started (its POST failed half-way), or it ended;
		// the store says which.
	default:
		s.logger().Error("cancel message", "message", id, "error", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", fmt.Sprintf("message %s could not be canceled now (no worker answered); try again", id), "")
		return
	}
	m, err = s.Store.CancelMessage(context.WithoutCancel(r.Context()), id, at)
	if errors.Is(err, store.ErrConflict) {
		refuse(fmt.Sprintf("message %s is already %s", id, m.Status))
		return
	}
	if s.failed(w, err, "cancel message", id) {
		return
	}
	writeJSON(w, http.StatusOK, messageView(m))
}
