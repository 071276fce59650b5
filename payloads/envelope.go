package payloads

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"
)

// Payload versions (spec sections 3 and 4).
const (
	Version2024    = "v2024-01-01"
	Version2018    = "v2018-01-01"
	Version2018b   = "v2018-08-01" // accepted as the same as Version2018
	DefaultVersion = Version2024
)

// IsVersion reports whether v is a payload version hookflow renders.
func IsVersion(v string) bool {
	return v == Version2024 || v == Version2018 || v == Version2018b
}

// Target is what the envelope says about where a delivery goes, and how the distribution
// shapes its `data`.
type Target struct {
	ProjectID string // proj_...
	SourceID  string // distr_... or wh_...
	// SourceObject is "distribution" or "webhook".
	SourceObject string
	URL          string
	// EventName is the distribution's label, sent as `type`.
	EventName string
	Version   string
	// ActionObjects are the objects the distribution's action adds to `data` after the
	// trigger's objects, in order (see ActionObjectNames). One whose name the trigger already
	// sends replaces that object in place, so no key appears twice.
	ActionObjects []NamedObject
	// Template, when set, is a payload-designer template (see CompileTemplate) whose
	// rendering replaces the content of `data` (`data.object` in the legacy version).
	Template string
	// Raw sends the rendered Template as the whole body, without an envelope.
	Raw bool
}

// DeliveryID is the stable id of the delivery of one event to one distribution: the same
// on every attempt, sent as `webhook-id`.
func DeliveryID(eventID, sourceID string) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + sourceID))
	return "whs_" + hex.EncodeToString(sum[:16])
}

// TimeFormat is the timestamp layout of every envelope: UTC with milliseconds and Z.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// FormatTime writes t as the envelopes do.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// Render builds the body of one delivery: compact JSON, keys in the spec's order.
// createdAt is when the delivery was created. It is RenderWithWarnings without the warnings.
func Render(ev Event, t Target, deliveryID string, createdAt time.Time) ([]byte, error) {
	body, _, err := RenderWithWarnings(ev, t, deliveryID, createdAt)
	return body, err
}

// RenderWithWarnings builds the body of one delivery: compact JSON, keys in the spec's
// order, and the warnings of its template (placeholders whose path the event does not
// have), which the delivery records. createdAt is when the delivery was created.
func RenderWithWarnings(ev Event, t Target, deliveryID string, createdAt time.Time) ([]byte, []string, error) {
	if t.Version != "" && !IsVersion(t.Version) {
		return nil, nil, fmt.Errorf("unknown payload version %q", t.Version)
	}
	var data []byte
	var warnings []string
	switch {
	case t.Template != "":
		tmpl, err := CompileTemplate(t.Template)
		if err != nil {
			return nil, nil, err
		}
		if data, warnings, err = tmpl.Render(ev, t.ActionObjects); err != nil {
			return nil, warnings, err
		}
		if t.Raw {
			return data, warnings, nil
		}
	case t.Raw:
		return nil, nil, errors.New("raw mode needs a template: the rendered template is the whole body")
	default:
		data = DataObject(ev, t.ActionObjects...)
	}
	w := jsonWriter{buf: make([]byte, 0, len(data)+envelopeSizeHint+len(t.URL))}
	switch t.Version {
	case Version2024, "":
		w.raw(`{"id":`)
		w.str(deliveryID)
		w.raw(`,"project_id":`)
		w.str(t.ProjectID)
		w.raw(`,"created_at":`)
		w.time(createdAt)
		w.raw(`,"type":`)
		w.str(t.EventName)
		w.raw(`,"data":`)
		w.bytes(data)
		w.raw(`,"source":{"id":`)
		w.str(t.SourceID)
		w.raw(`,"object":`)
		w.str(t.SourceObject)
		w.raw(`,"target_url":`)
		w.str(t.URL)
		w.raw(`},"event":{"id":`)
		w.str(ev.ID)
		w.raw(`,"type":`)
		w.str(ev.Type)
		w.raw(`,"created_at":`)
		w.time(ev.CreatedAt)
		w.raw(`,"entity_id":`)
		w.strOrNull(ev.EntityID)
		w.raw(`,"group_id":`)
		w.strOrNull(ev.GroupID)
		w.raw(`,"event_source":`)
		w.bytes(sourceOrDefault(ev.Source))
		w.raw(`}}`)
	case Version2018, Version2018b:
		w.raw(`{"id":`)
		w.str(ev.ID)
		w.raw(`,"object":"event","webhook_id":`)
		w.str(deliveryID)
		w.raw(`,"project_id":`)
		w.str(t.ProjectID)
		w.raw(`,"created_at":`)
		w.time(createdAt)
		w.raw(`,"type":`)
		w.str(t.EventName)
		w.raw(`,"data":{"object":`)
		w.bytes(data)
		w.raw(`,"related_object":{"id":`)
		w.str(ev.ID)
		w.raw(`,"type":`)
		w.str(ev.Type)
		w.raw(`,"data":`)
		w.bytes(allObjects(ev))
		w.raw(`,"created_at":`)
		w.time(ev.CreatedAt)
		w.raw(`,"group_id":`)
		w.strOrNull(ev.GroupID)
		w.raw(`}},"metadata":{"source":`)
		w.str(channelOf(ev.Source))
		w.raw(`}}`)
	}
	return w.buf, warnings, nil
}

// envelopeSizeHint is about the size of an envelope without its data and URL; reserving it
// up front spares the body's buffer most of its regrowth.
const envelopeSizeHint = 512

// DataObject is the `data` object of the envelope: the trigger's objects in the spec's
// order, absent ones as null, so receivers always see the same keys; then the action's
// objects in the given order. An action object whose name is already a key (the action's
// campaign on a trigger that sends one) replaces that key's value in place.
func DataObject(ev Event, actionObjects ...NamedObject) []byte {
	names := TriggerObjects(ev.Type)
	if names == nil {
		names = sortedNames(ev.Data)
	}
	if len(actionObjects) == 0 {
		return objectOf(names, ev.Data)
	}
	objects := make([]NamedObject, len(names), len(names)+len(actionObjects))
	for i, name := range names {
		objects[i] = NamedObject{name, ev.Data[name]}
	}
	for _, a := range actionObjects {
		i := 0
		for i < len(objects) && objects[i].Name != a.Name {
			i++
		}
		if i == len(objects) {
			objects = append(objects, a)
		} else {
			objects[i].Value = a.Value
		}
	}
	size := 2
	for _, o := range objects {
		size += len(o.Name) + len(o.Value) + 8 // quotes, colon, comma, or null
	}
	w := jsonWriter{buf: make([]byte, 0, size)}
	w.raw("{")
	for i, o := range objects {
		if i > 0 {
			w.raw(",")
		}
		w.str(o.Name)
		w.raw(":")
		w.value(o.Value)
	}
	w.raw("}")
	return w.buf
}

// allObjects writes every object of the event, by name in sorted order.
func allObjects(ev Event) []byte { return objectOf(sortedNames(ev.Data), ev.Data) }

func sortedNames(objects map[string]json.RawMessage) []string {
	names := make([]string, 0, len(objects))
	for k := range objects {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func objectOf(names []string, objects map[string]json.RawMessage) []byte {
	size := 2
	for _, name := range names {
		size += len(name) + len(objects[name]) + 8 // quotes, colon, comma, or null
	}
	w := jsonWriter{buf: make([]byte, 0, size)}
	w.raw("{")
	for i, name := range names {
		if i > 0 {
			w.raw(",")
		}
		w.str(name)
		w.raw(":")
		w.value(objects[name])
	}
	w.raw("}")
	return w.buf
}

func sourceOrDefault(src json.RawMessage) json.RawMessage {
	if len(src) == 0 {
		return json.RawMessage(`{"channel":"API"}`)
	}
	return src
}

func channelOf(src json.RawMessage) string {
	var s struct {
		Channel string `json:"channel"`
	}
	if json.Unmarshal(sourceOrDefault(src), &s) != nil || s.Channel == "" {
		return "API"
	}
	return s.Channel
}

// jsonWriter appends compact JSON; strings are escaped as encoding/json does, without
// HTML escaping, so URLs keep their '&'.
type jsonWriter struct {
	buf []byte
}

func (w *jsonWriter) raw(s string) { w.buf = append(w.buf, s...) }

func (w *jsonWriter) bytes(b []byte) { w.buf = append(w.buf, b...) }

func (w *jsonWriter) str(s string) { w.buf = appendJSONString(w.buf, s) }

func (w *jsonWriter) strOrNull(s string) {
	if s == "" {
		w.raw("null")
		return
	}
	w.str(s)
}

// time writes t as a string in TimeFormat.
func (w *jsonWriter) time(t time.Time) {
	w.buf = append(w.buf, '"')
	w.buf = t.UTC().AppendFormat(w.buf, TimeFormat)
	w.buf = append(w.buf, '"')
}

// value writes an object's JSON, or null for an object that is absent.
func (w *jsonWriter) value(v json.RawMessage) {
	if len(v) == 0 {
		w.raw("null")
		return
	}
	w.bytes(v)
}

// appendJSONString appends s as a JSON string exactly as encoding/json writes it with
// SetEscapeHTML(false): short escapes for \b \f \n \r \t, \u00XX for the other control
// characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD. It spares the encoder's
// allocations on every string of every body.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, b)
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendEscapedASCII appends the JSON escape of '"', '\\' or a control character.
func appendEscapedASCII(dst []byte, b byte) []byte {
	switch b {
	case '\\', '"':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
}
