package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
)

// Limits of a message.
const (
	// MaxMessageBytes bounds the body of POST /v1/distributions/{id}/messages, whatever its
	// format.
	MaxMessageBytes = 64 << 20
	// MaxMessageCustomers bounds the customers of one message.
	MaxMessageCustomers = 100_000
	// MaxCustomerBytes bounds one customer object (compact JSON).
	MaxCustomerBytes = 256 << 10
	// MaxCSVColumns and MaxCSVColumnName bound a CSV file's header.
	MaxCSVColumns    = 1000
	MaxCSVColumnName = 256
	// MaxMessageDelay bounds how long a message may wait before it is sent.
	MaxMessageDelay = 7 * 24 * time.Hour
	// DefaultMessageDelay is the delay of a message that names none: the window in which it
	// can still be canceled.
	DefaultMessageDelay = 10 * time.Minute
	// MaxMessageIDLength bounds a message id chosen by the client, so that the event ids
	// derived from it (id-seq) stay within payloads.MaxEventIDLength.
	MaxMessageIDLength = 64
	// MaxMessageList bounds GET /v1/messages.
	MaxMessageList = 1000
)

// MessageStarter starts and cancels the workflows of messages; the API's Starter provides
// it when it is a *starter.Starter.
type MessageStarter interface {
	StartMessage(ctx context.Context, in starter.MessageInput) (starter.Handle, error)
	CancelMessage(ctx context.Context, messageID string) (starter.MessageProgress, error)
}

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

// messageRoutes adds the messages routes.
func (s *Server) messageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/distributions/{id}/messages", s.createMessage)
	mux.HandleFunc("GET /v1/messages", s.listMessages)
	mux.HandleFunc("GET /v1/messages/{id}", s.getMessage)
	mux.HandleFunc("DELETE /v1/messages/{id}", s.cancelMessage)
}

func (s *Server) messageStarter(w http.ResponseWriter) (MessageStarter, bool) {
	ms, ok := s.Starter.(MessageStarter)
	if !ok {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server cannot start messages", "")
	}
	return ms, ok
}

// messageProblem is a refused message body: the status, and the field or line at fault.
type messageProblem struct {
	status int
	field  string
	msg    string
}

func (p *messageProblem) Error() string {
	if p.field == "" {
		return p.msg
	}
	return p.field + ": " + p.msg
}

func problem(status int, field, format string, args ...any) *messageProblem {
	return &messageProblem{status: status, field: field, msg: fmt.Sprintf(format, args...)}
}

// messageRequest is what a POST asks for, in any of its formats.
type messageRequest struct {
	id        string
	delay     *string
	customers []json.RawMessage
	// where[i] names customer i in errors: customer, customers[3], line 4.
	where func(i int) string
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
		writeError(w, p.status, "invalid_request", p.msg, p.field)
		return
	}
	req, p := readMessageRequest(w, r)
	if p != nil {
		if p.status != 0 {
			writeError(w, p.status, errorType(p.status), p.Error(), p.field)
		}
		return
	}
	delay := DefaultMessageDelay
	if req.delay != nil {
		v, err := time.ParseDuration(*req.delay)
		if err != nil || v < 0 || v > MaxMessageDelay {
			writeError(w, http.StatusBadRequest, "invalid_request",
				fmt.Sprintf("delay: %q is not a duration from 0s to %s, such as 2s, 10m or 1h", *req.delay, "168h"), "delay")
			return
		}
		delay = v
	}
	if p := checkCustomers(req); p != nil {
		writeError(w, p.status, errorType(p.status), p.Error(), p.field)
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
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("message %s exists already", id), "id")
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
		writeError(w, http.StatusConflict, "conflict", fmt.Sprintf("message %s exists already, for distribution %s with %d customers", m.ID, m.DistributionID, m.Total), "id")
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
		return problem(http.StatusConflict, "trigger.live_until", "distribution %s stopped taking events at %s", d.ID, d.Trigger.LiveUntil.UTC().Format(time.RFC3339))
	}
	return nil
}

var messageIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// readMessageRequest reads the body in its format. A problem with status 0 was answered
// already (the body was too large or unreadable).
func readMessageRequest(w http.ResponseWriter, r *http.Request) (messageRequest, *messageProblem) {
	var req messageRequest
	ct := r.Header.Get("content-type")
	mediaType := "application/json"
	if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return req, problem(http.StatusUnsupportedMediaType, "", "content-type %q: %v", ct, err)
		}
		mediaType = mt
	}
	q := r.URL.Query()
	body, ok := readBody(w, r, MaxMessageBytes)
	if !ok {
		return req, &messageProblem{}
	}
	if !utf8.Valid(body) {
		return req, problem(http.StatusBadRequest, "", "the body is not valid UTF-8")
	}
	var p *messageProblem
	switch mediaType {
	case "application/json":
		req, p = parseJSONMessage(body)
		if p == nil && (q.Has("delay") || q.Has("id")) {
			return req, problem(http.StatusBadRequest, "", `give delay and id in the JSON body, not as ?delay= or ?id=`)
		}
	case "application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines":
		req.customers, p = parseNDJSON(body)
		req.where = func(i int) string { return "" }
	case "text/csv":
		req.customers, p = parseCSV(body)
		req.where = func(i int) string { return "" }
	default:
		return req, problem(http.StatusUnsupportedMediaType, "", "content-type %q: send application/json, application/x-ndjson (one customer per line) or text/csv", mediaType)
	}
	if p != nil {
		return req, p
	}
	if mediaType != "application/json" {
		if q.Has("delay") {
			v := q.Get("delay")
			req.delay = &v
		}
		req.id = q.Get("id")
		req.where = lineOf(mediaType, body)
	}
	if req.id != "" {
		if len(req.id) > MaxMessageIDLength || !messageIDPattern.MatchString(req.id) {
			return req, problem(http.StatusBadRequest, "id",
				"at most %d letters, digits, '_', '.', ':' and '-', starting with a letter or digit", MaxMessageIDLength)
		}
	}
	return req, nil
}

// lineOf names customer i of a file by its line. For CSV the header is line 1; for JSON
// lines blank lines are counted too.
func lineOf(mediaType string, body []byte) func(int) string {
	var names func(int) string
	return func(i int) string {
		if names == nil {
			names = lineNames(mediaType, body)
		}
		return names(i)
	}
}

func lineNames(mediaType string, body []byte) func(int) string {
	if mediaType == "text/csv" {
		lines := csvLines(body)
		return func(i int) string {
			if i < len(lines) {
				return "line " + strconv.Itoa(lines[i])
			}
			return "customer " + strconv.Itoa(i)
		}
	}
	var lines []int
	n := 0
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		n++
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, n)
		}
	}
	return func(i int) string { return "line " + strconv.Itoa(lines[i]) }
}

func parseJSONMessage(body []byte) (messageRequest, *messageProblem) {
	var in struct {
		ID        *string           `json:"id"`
		Delay     *string           `json:"delay"`
		Customer  json.RawMessage   `json:"customer"`
		Customers []json.RawMessage `json:"customers"`
	}
	req := messageRequest{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return req, jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, problem(http.StatusBadRequest, "", "invalid JSON: data after the message object")
	}
	if in.ID != nil {
		if *in.ID == "" {
			return req, problem(http.StatusBadRequest, "id", "must not be empty; leave it out to have one made")
		}
		req.id = *in.ID
	}
	req.delay = in.Delay
	switch {
	case in.Customer != nil && in.Customers != nil:
		return req, problem(http.StatusBadRequest, "customers", "give customer or customers, not both")
	case in.Customer != nil:
		req.customers = []json.RawMessage{in.Customer}
		req.where = func(int) string { return "customer" }
	case in.Customers != nil:
		if len(in.Customers) > MaxMessageCustomers {
			return req, tooMany(len(in.Customers))
		}
		req.customers = in.Customers
		req.where = func(i int) string { return fmt.Sprintf("customers[%d]", i) }
	default:
		return req, problem(http.StatusBadRequest, "customers",
			`is required: {"customer": {"id": "cust_1", ...}} or {"customers": [...]}, or send a file as application/x-ndjson or text/csv`)
	}
	return req, nil
}

func jsonProblem(err error) *messageProblem {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return problem(http.StatusBadRequest, "", "the body must be a JSON object such as {\"customers\": [...]}")
		}
		return problem(http.StatusBadRequest, typeErr.Field, "must not be a JSON %s", typeErr.Value)
	case errors.As(err, &syntaxErr):
		return problem(http.StatusBadRequest, "", "invalid JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.EOF):
		return problem(http.StatusBadRequest, "", `empty body: send {"customer": {...}} or {"customers": [...]}`)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(http.StatusBadRequest, "", "invalid JSON: unexpected end of input")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return problem(http.StatusBadRequest, name, "unknown field: a message has customer or customers, delay and id")
	}
	return problem(http.StatusBadRequest, "", "invalid JSON: %v", err)
}

func tooMany(n int) *messageProblem {
	return problem(http.StatusRequestEntityTooLarge, "customers",
		"%d customers or more, over the limit of %d per message: split them into several messages", n, MaxMessageCustomers)
}

// parseNDJSON reads one customer object per line; blank lines are skipped.
func parseNDJSON(body []byte) ([]json.RawMessage, *messageProblem) {
	var out []json.RawMessage
	n := 0
	// A byte order mark, as some editors and spreadsheets write, is not part of line 1.
	for line := range bytes.SplitSeq(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), []byte("\n")) {
		n++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(out) == MaxMessageCustomers {
			return nil, tooMany(len(out) + 1)
		}
		if !json.Valid(line) {
			var v any
			err := json.Unmarshal(line, &v)
			return nil, problem(http.StatusBadRequest, fmt.Sprintf("line %d", n), "invalid JSON: %v", err)
		}
		out = append(out, json.RawMessage(line))
	}
	return out, nil
}

// parseCSV reads customers from CSV with a header row. Each column is a field of the
// customer; a dotted column (metadata.tier) is a field of a nested object. Values are
// strings; empty cells are left out.
func parseCSV(body []byte) ([]json.RawMessage, *messageProblem) {
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	rd.ReuseRecord = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, problem(http.StatusBadRequest, "line 1", "empty file: want a header row such as id,email,name and a row per customer")
	}
	if err != nil {
		return nil, csvProblem(err)
	}
	if len(header) > MaxCSVColumns {
		return nil, problem(http.StatusBadRequest, "line 1", "%d columns, over the limit of %d", len(header), MaxCSVColumns)
	}
	cols := make([][]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if len(h) > MaxCSVColumnName {
			return nil, problem(http.StatusBadRequest, "line 1", "column %d: the name is %d bytes, over the limit of %d", i+1, len(h), MaxCSVColumnName)
		}
		path := strings.Split(h, ".")
		for _, part := range path {
			if part == "" {
				return nil, problem(http.StatusBadRequest, "line 1", "column %d: %q is not a field name such as email or metadata.tier", i+1, h)
			}
		}
		if seen[h] {
			return nil, problem(http.StatusBadRequest, "line 1", "column %q appears twice", h)
		}
		seen[h] = true
		cols[i] = path
	}
	// A column may not be both a value and an object (metadata and metadata.tier): look
	// each column's dotted prefixes up, in header order so that the message is the same
	// every time.
	for i, path := range cols {
		for n := 1; n < len(path); n++ {
			if prefix := strings.Join(path[:n], "."); seen[prefix] {
				return nil, problem(http.StatusBadRequest, "line 1", "columns %q and %q: %s cannot be both a value and an object", prefix, strings.TrimSpace(header[i]), prefix)
			}
		}
	}
	// Every row repeats the column names in its JSON: bound what the rows make, not only
	// the body, before it is all in memory.
	var out []json.RawMessage
	total := 0
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvProblem(err)
		}
		if len(out) == MaxMessageCustomers {
			return nil, tooMany(len(out) + 1)
		}
		obj := &orderedObject{}
		for i, v := range rec {
			if v != "" {
				obj.set(cols[i], v)
			}
		}
		customer := obj.json()
		if len(customer) > MaxCustomerBytes {
			line, _ := rd.FieldPos(0)
			return nil, problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("line %d", line), "the customer is %d bytes as JSON, over the limit of %d", len(customer), MaxCustomerBytes)
		}
		if total += len(customer); total > MaxMessageBytes {
			return nil, problem(http.StatusRequestEntityTooLarge, "customers", "the customers take more than %d bytes as JSON: split them into several messages", MaxMessageBytes)
		}
		out = append(out, customer)
	}
	return out, nil
}

// csvLines returns the line each record after the header starts on.
func csvLines(body []byte) []int {
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	rd.ReuseRecord = true
	var lines []int
	first := true
	for {
		if _, err := rd.Read(); err != nil {
			return lines
		}
		line, _ := rd.FieldPos(0)
		if !first {
			lines = append(lines, line)
		}
		first = false
	}
}

func csvProblem(err error) *messageProblem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return problem(http.StatusBadRequest, fmt.Sprintf("line %d", pe.Line), "invalid CSV: %v", pe.Err)
	}
	return problem(http.StatusBadRequest, "", "invalid CSV: %v", err)
}

// orderedObject builds a JSON object keeping the columns' order.
type orderedObject struct {
	keys []string
	vals map[string]any // string or *orderedObject
}

func (o *orderedObject) set(path []string, v string) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	k := path[0]
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
		if len(path) > 1 {
			o.vals[k] = &orderedObject{}
		}
	}
	if len(path) == 1 {
		o.vals[k] = v
		return
	}
	o.vals[k].(*orderedObject).set(path[1:], v)
}

func (o *orderedObject) json() json.RawMessage {
	var b bytes.Buffer
	o.write(&b)
	return b.Bytes()
}

func (o *orderedObject) write(b *bytes.Buffer) {
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k)
		b.WriteByte(':')
		switch v := o.vals[k].(type) {
		case string:
			writeJSONString(b, v)
		case *orderedObject:
			v.write(b)
		}
	}
	b.WriteByte('}')
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // the newline Encode adds
}

// checkCustomers checks every customer (an object, with an id or a source_id, within the
// size limit), compacts it in place, and refuses duplicates by id, naming both places.
func checkCustomers(req messageRequest) *messageProblem {
	if len(req.customers) == 0 {
		return problem(http.StatusUnprocessableEntity, "customers", "no customer: a message needs at least one")
	}
	if len(req.customers) > MaxMessageCustomers {
		return tooMany(len(req.customers))
	}
	first := make(map[string]int, len(req.customers))
	var buf bytes.Buffer
	for i, raw := range req.customers {
		// Named only for an error: a file's line names take another pass over it.
		where := func() string { return req.where(i) }
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			return problem(http.StatusUnprocessableEntity, where(), "a customer must be a JSON object such as {\"id\": \"cust_1\", \"email\": \"ann@example.com\"}")
		}
		buf.Reset()
		if err := json.Compact(&buf, raw); err != nil {
			return problem(http.StatusBadRequest, where(), "invalid JSON: %v", err)
		}
		if buf.Len() > MaxCustomerBytes {
			return problem(http.StatusRequestEntityTooLarge, where(), "the customer is %d bytes, over the limit of %d", buf.Len(), MaxCustomerBytes)
		}
		var ids struct {
			ID       any `json:"id"`
			SourceID any `json:"source_id"`
		}
		if err := json.Unmarshal(buf.Bytes(), &ids); err != nil {
			return problem(http.StatusBadRequest, where(), "invalid JSON: %v", err)
		}
		key := ""
		for _, f := range []struct {
			name string
			v    any
		}{{"id", ids.ID}, {"source_id", ids.SourceID}} {
			if f.v == nil {
				continue
			}
			s, ok := f.v.(string)
			if !ok || s == "" {
				return problem(http.StatusUnprocessableEntity, where(), "%s must be a non-empty string", f.name)
			}
			if key == "" {
				key = f.name + " " + strconv.Quote(s)
			}
		}
		if key == "" {
			return problem(http.StatusUnprocessableEntity, where(), "the customer has no id or source_id: each customer needs one, and one message sends to it once")
		}
		if j, dup := first[key]; dup {
			return problem(http.StatusUnprocessableEntity, where(), "duplicate customer: %s is also at %s; a message sends once to each customer", key, req.where(j))
		}
		first[key] = i
		req.customers[i] = bytes.Clone(buf.Bytes())
	}
	return nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	m, err := s.Store.GetMessage(r.Context(), r.PathValue("id"))
	if s.failed(w, err, "get message", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, messageView(m))
}

// listMessages lists messages, newest first: ?limit=N (default 100).
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxMessageList {
			writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit: %q is not a number from 1 to %d", v, MaxMessageList), "limit")
			return
		}
		limit = n
	}
	ms, err := s.Store.ListMessages(r.Context(), limit)
	if err != nil {
		s.internal(w, "list messages", err)
		return
	}
	views := make([]MessageView, len(ms))
	for i, m := range ms {
		views[i] = messageView(m)
	}
	writeJSON(w, http.StatusOK, list(views))
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
		writeError(w, http.StatusConflict, "conflict", reason+": a message can be canceled only during its delay", "status")
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
