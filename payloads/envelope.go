package payloads

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"
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

// Target is what the envelope says about where a delivery goes.
type Target struct {
	ProjectID string // proj_...
	SourceID  string // distr_... or wh_...
	// SourceObject is "distribution" or "webhook".
	SourceObject string
	URL          string
	// EventName is the distribution's label, sent as `type`.
	EventName string
	Version   string
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
// createdAt is when the delivery was created.
func Render(ev Event, t Target, deliveryID string, createdAt time.Time) ([]byte, error) {
	data := DataObject(ev)
	var w jsonWriter
	switch t.Version {
	case Version2024, "":
		w.raw(`{"id":`)
		w.str(deliveryID)
		w.raw(`,"project_id":`)
		w.str(t.ProjectID)
		w.raw(`,"created_at":`)
		w.str(FormatTime(createdAt))
		w.raw(`,"type":`)
		w.str(t.EventName)
		w.raw(`,"data":`)
		w.raw(string(data))
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
		w.str(FormatTime(ev.CreatedAt))
		w.raw(`,"entity_id":`)
		w.strOrNull(ev.EntityID)
		w.raw(`,"group_id":`)
		w.strOrNull(ev.GroupID)
		w.raw(`,"event_source":`)
		w.raw(string(sourceOrDefault(ev.Source)))
		w.raw(`}}`)
	case Version2018, Version2018b:
		w.raw(`{"id":`)
		w.str(ev.ID)
		w.raw(`,"object":"event","webhook_id":`)
		w.str(deliveryID)
		w.raw(`,"project_id":`)
		w.str(t.ProjectID)
		w.raw(`,"created_at":`)
		w.str(FormatTime(createdAt))
		w.raw(`,"type":`)
		w.str(t.EventName)
		w.raw(`,"data":{"object":`)
		w.raw(string(data))
		w.raw(`,"related_object":{"id":`)
		w.str(ev.ID)
		w.raw(`,"type":`)
		w.str(ev.Type)
		w.raw(`,"data":`)
		w.raw(string(allObjects(ev)))
		w.raw(`,"created_at":`)
		w.str(FormatTime(ev.CreatedAt))
		w.raw(`,"group_id":`)
		w.strOrNull(ev.GroupID)
		w.raw(`}},"metadata":{"source":`)
		w.str(channelOf(ev.Source))
		w.raw(`}}`)
	default:
		return nil, fmt.Errorf("unknown payload version %q", t.Version)
	}
	return w.buf.Bytes(), w.err
}

// DataObject is the `data` object of the envelope: the trigger's objects in the spec's
// order, absent ones as null, so receivers always see the same keys.
func DataObject(ev Event) []byte {
	names := TriggerObjects(ev.Type)
	if names == nil {
		return allObjects(ev)
	}
	return objectOf(names, ev.Data)
}

// allObjects writes every object of the event, by name in sorted order.
func allObjects(ev Event) []byte {
	names := make([]string, 0, len(ev.Data))
	for k := range ev.Data {
		names = append(names, k)
	}
	sort.Strings(names)
	return objectOf(names, ev.Data)
}

func objectOf(names []string, objects map[string]json.RawMessage) []byte {
	var w jsonWriter
	w.raw("{")
	for i, name := range names {
		if i > 0 {
			w.raw(",")
		}
		w.str(name)
		w.raw(":")
		if v, ok := objects[name]; ok && len(v) > 0 {
			w.raw(string(v))
		} else {
			w.raw("null")
		}
	}
	w.raw("}")
	return w.buf.Bytes()
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
	buf bytes.Buffer
	err error
}

func (w *jsonWriter) raw(s string) { w.buf.WriteString(s) }

func (w *jsonWriter) str(s string) {
	enc := json.NewEncoder(&w.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil && w.err == nil {
		w.err = err
	}
	w.buf.Truncate(w.buf.Len() - 1) // Encode adds a newline
}

func (w *jsonWriter) strOrNull(s string) {
	if s == "" {
		w.raw("null")
		return
	}
	w.str(s)
}
