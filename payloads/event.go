// Package payloads holds the event that comes in, the envelopes that go out, and their
// signatures: the wire contract of spec/webhooks.md, in the standard library only.
package payloads

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is something that happened in the user's system (spec section 2).
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	EntityID  string    `json:"entity_id,omitempty"`
	GroupID   string    `json:"group_id,omitempty"`
	// Source is the compact JSON object describing where the event came from; it has at
	// least "channel".
	Source json.RawMessage `json:"source"`
	// Data holds the event's named objects, each as compact JSON.
	Data map[string]json.RawMessage `json:"data"`
}

// FieldError is a problem with one field of the input; Field is its JSON path.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// MaxEventIDLength bounds event ids; they become part of workflow ids.
const MaxEventIDLength = 128

var eventIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// Channels are the accepted values of source.channel.
var Channels = []string{"USER_PORTAL", "API", "CLIENT_API", "INTERNAL"}

type rawEvent struct {
	ID        *string                    `json:"id"`
	Type      *string                    `json:"type"`
	CreatedAt *string                    `json:"created_at"`
	EntityID  *string                    `json:"entity_id"`
	GroupID   *string                    `json:"group_id"`
	Source    json.RawMessage            `json:"source"`
	Data      map[string]json.RawMessage `json:"data"`
}

// ParseEvent reads one event from JSON, fills the defaults (id from newID, created_at from
// now, source channel API) and checks every field. Errors are *FieldError.
func ParseEvent(body []byte, now time.Time, newID func() string) (Event, error) {
	if !utf8.Valid(body) {
		return Event{}, &FieldError{Message: "the body is not valid UTF-8"}
	}
	var raw rawEvent
	if unknown := FieldProblems(body, raw); len(unknown) > 0 { // rawEvent reads every value itself: only unknown keys
		paths := make([]string, len(unknown))
		for i, u := range unknown {
			paths[i] = u.Path
		}
		msg := "unknown field"
		if len(paths) > 1 {
			msg = "unknown fields " + strings.Join(paths, ", ")
		}
		return Event{}, &FieldError{paths[0], msg + "; an event has " + strings.Join(unknown[0].Known, ", ")}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Event{}, jsonFieldError(body, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Event{}, &FieldError{Message: "invalid JSON: data after the event object"}
	}
	var ev Event
	switch {
	case raw.ID == nil || *raw.ID == "":
		ev.ID = newID()
	case len(*raw.ID) > MaxEventIDLength:
		return Event{}, &FieldError{"id", fmt.Sprintf("longer than %d characters", MaxEventIDLength)}
	case !eventIDPattern.MatchString(*raw.ID):
		return Event{}, &FieldError{"id", "may hold only letters, digits, '_', '.', ':' and '-', starting with a letter or digit"}
	default:
		ev.ID = *raw.ID
	}
	if raw.Type == nil || *raw.Type == "" {
		return Event{}, &FieldError{"type", "is required"}
	}
	if !IsEventType(*raw.Type) {
		return Event{}, &FieldError{"type", UnknownTypeMessage(*raw.Type, AllEventTypes())}
	}
	ev.Type = *raw.Type
	ev.CreatedAt = now.UTC()
	if raw.CreatedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *raw.CreatedAt)
		if err != nil {
			return Event{}, &FieldError{"created_at", "must be an RFC 3339 timestamp such as 2026-01-05T10:00:00.000Z"}
		}
		ev.CreatedAt = t.UTC()
	}
	for field, v := range map[string]*string{"entity_id": raw.EntityID, "group_id": raw.GroupID} {
		if v != nil && len(*v) > 256 {
			return Event{}, &FieldError{field, "longer than 256 characters"}
		}
	}
	if raw.EntityID != nil {
		ev.EntityID = *raw.EntityID
	}
	if raw.GroupID != nil {
		ev.GroupID = *raw.GroupID
	}
	src, err := parseSource(raw.Source)
	if err != nil {
		return Event{}, err
	}
	ev.Source = src
	if raw.Data == nil {
		return Event{}, &FieldError{"data", "is required and must be an object of named objects"}
	}
	ev.Data = make(map[string]json.RawMessage, len(raw.Data))
	for name, obj := range raw.Data {
		trimmed := bytes.TrimSpace(obj)
		if len(trimmed) == 0 || (trimmed[0] != '{' && !bytes.Equal(trimmed, []byte("null"))) {
			return Event{}, &FieldError{"data." + name, "must be an object or null"}
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, trimmed); err != nil {
			return Event{}, &FieldError{"data." + name, "invalid JSON"}
		}
		ev.Data[name] = buf.Bytes()
	}
	return ev, nil
}

func parseSource(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return json.RawMessage(`{"channel":"API"}`), nil
	}
	var src struct {
		Channel *string `json:"channel"`
	}
	if err := json.Unmarshal(raw, &src); err != nil {
		return nil, &FieldError{"source", "must be an object such as {\"channel\": \"API\"}"}
	}
	if src.Channel == nil {
		return nil, &FieldError{"source.channel", "is required when source is given; one of " + strings.Join(Channels, ", ")}
	}
	ok := false
	for _, c := range Channels {
		ok = ok || c == *src.Channel
	}
	if !ok {
		return nil, &FieldError{"source.channel", fmt.Sprintf("%q is not one of %s", *src.Channel, strings.Join(Channels, ", "))}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, &FieldError{"source", "invalid JSON"}
	}
	return buf.Bytes(), nil
}

// jsonFieldError turns a decoding error into a FieldError that names the field.
func jsonFieldError(body []byte, err error) error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return &FieldError{Message: "the event must be a JSON object"}
		}
		return &FieldError{field, fmt.Sprintf("must be %s, not a JSON %s", describeType(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.Is(err, io.EOF):
		return &FieldError{Message: "empty body: send a JSON event"}
	}
	if msg, ok := JSONSyntaxError(body, err); ok {
		return &FieldError{Message: msg}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return &FieldError{strings.Trim(name, `"`), "unknown field"}
	}
	return &FieldError{Message: "invalid JSON: " + msg}
}

func describeType(kind string) string {
	switch kind {
	case "ptr", "string":
		return "a string"
	case "map", "struct":
		return "an object"
	}
	return "a " + kind
}
