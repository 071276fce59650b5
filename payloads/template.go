package payloads

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Template is a compiled payload-designer template (spec section 4): JSON text with
// {{path}} placeholders that reach into the event's objects, such as
//
//	{"greeting": "Hello {{customer.name}}", "total": {{order.amount}}}
//
// A placeholder outside quotes is a whole JSON value and keeps the value's type; one inside
// a JSON string is written into it as text. A Template is safe for concurrent use.
type Template struct {
	parts []templatePart
	// sizeHint is the length of the literal text plus a little per placeholder, the usual
	// size of a rendering.
	sizeHint int
}

// templatePart is a run of literal template text, or one placeholder.
type templatePart struct {
	// text is the literal text, or the placeholder as written, for messages.
	text string
	// path is the placeholder's dotted path split at the dots; nil for literal text.
	path []string
	// inString tells that the placeholder stands inside a JSON string of the template.
	inString bool
}

// CompileTemplate splits a template into literal text and placeholders once, so that
// rendering is a walk over the parts. It rejects a placeholder without its closing "}}", an
// empty or malformed path (path segments are letters, digits, '_' and '-', separated by
// single dots; a segment of digits also indexes an array), a \u escape without its four hex
// digits (a placeholder cannot stand among them), a string left open, and text that is not
// UTF-8. Whether the result is JSON is checked by Render and Validate.
func CompileTemplate(src string) (*Template, error) {
	if !utf8.ValidString(src) {
		return nil, errors.New("template: not valid UTF-8")
	}
	t := &Template{parts: make([]templatePart, 0, 2*strings.Count(src, "{{")+1)}
	inString := false
	literalStart := 0
	for i := 0; i < len(src); {
		switch c := src[i]; {
		case c == '{' && i+1 < len(src) && src[i+1] == '{':
			// Valid JSON never has "{{" outside a string, and the designer reserves it inside
			// strings, so every "{{" opens a placeholder.
			n := strings.Index(src[i+2:], "}}")
			if n < 0 {
				return nil, fmt.Errorf("template: placeholder %q at byte %d has no closing }}", excerpt(src[i:]), i)
			}
			written := src[i : i+2+n+2]
			path, err := parsePath(src[i+2 : i+2+n])
			if err != nil {
				return nil, fmt.Errorf("template: placeholder %s at byte %d: %v", written, i, err)
			}
			if literalStart < i {
				t.parts = append(t.parts, templatePart{text: src[literalStart:i]})
			}
			t.parts = append(t.parts, templatePart{text: written, path: path, inString: inString})
			t.sizeHint += 16
			i += len(written)
			literalStart = i
		case inString && c == '\\' && i+1 < len(src) && src[i+1] == 'u':
			// The four hex digits must be in the template itself: a placeholder among them
			// would make the escape valid for one event and broken for the next, and Validate
			// renders only a sample.
			if i+6 > len(src) || !isHex4(src[i+2:i+6]) {
				return nil, fmt.Errorf("template: the \\u escape at byte %d needs four hex digits (%q)", i, excerpt(src[i:]))
			}
			i += 6
		case inString && c == '\\':
			i += 2 // the escaped character, which may be a quote, does not end the string
		case c == '"':
			inString = !inString
			i++
		default:
			i++
		}
	}
	if inString {
		return nil, errors.New("template: a string is not closed (a '\"' is missing)")
	}
	if literalStart < len(src) {
		t.parts = append(t.parts, templatePart{text: src[literalStart:]})
	}
	for _, p := range t.parts {
		if p.path == nil {
			t.sizeHint += len(p.text)
		}
	}
	return t, nil
}

// isHex4 tells whether s is four hex digits, the tail of a \uXXXX escape.
func isHex4(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return len(s) == 4
}

// excerpt shortens the text after an unclosed "{{" for an error message.
func excerpt(s string) string {
	const limit = 24
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// parsePath splits a placeholder's content, such as " order.metadata.channel ", into its
// segments.
func parsePath(content string) ([]string, error) {
	p := strings.TrimSpace(content)
	if p == "" {
		return nil, errors.New("empty path: write {{object.field}}")
	}
	path := strings.Split(p, ".")
	for _, seg := range path {
		if seg == "" {
			return nil, fmt.Errorf("path %q has an empty segment", p)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return nil, fmt.Errorf("path %q: segments hold only letters, digits, '_' and '-'", p)
			}
		}
	}
	return path, nil
}

// Render fills the template with the event's objects and extra, objects that the
// distribution adds (its action's objects); an extra object wins over the event's object of
// the same name. A path the event does not have renders as null (whole value) or nothing
// (inside a string) and adds a warning naming it. The result is compact JSON; a rendering
// that is not JSON is an error, which Validate finds before a distribution is saved.
func (t *Template) Render(ev Event, extra []NamedObject) (out []byte, warnings []string, err error) {
	buf := make([]byte, 0, t.sizeHint)
	for _, p := range t.parts {
		if p.path == nil {
			buf = append(buf, p.text...)
			continue
		}
		v, ok := lookupPath(ev, extra, p.path)
		switch {
		case !ok && p.inString:
			warnings = appendWarning(warnings, p, "an empty string")
		case !ok:
			warnings = appendWarning(warnings, p, "null")
			buf = append(buf, "null"...)
		case p.inString:
			buf = appendAsText(buf, v)
		default:
			buf = append(buf, v...)
		}
	}
	// Compact checks the JSON with the same scanner as json.Valid, in the same pass.
	var compact bytes.Buffer
	if err := json.Compact(&compact, buf); err != nil {
		return nil, warnings, fmt.Errorf("template: the rendering is not valid JSON: %v", err)
	}
	return compact.Bytes(), warnings, nil
}

// appendWarning adds the warning for a missing path once, however often it is used.
func appendWarning(warnings []string, p templatePart, renderedAs string) []string {
	w := "template: " + p.text + " has no value in this event; rendered as " + renderedAs
	for _, seen := range warnings {
		if seen == w {
			return warnings
		}
	}
	return append(warnings, w)
}

// Validate renders the template on a sample event (see SampleEvent) and reports an error
// if the result is not valid JSON. It renders a second time with every path missing: null
// can stand only where any JSON value can, so a template that survives both renders valid
// JSON for every event whose objects are JSON: it cannot fail at send time.
func (t *Template) Validate(sample Event) error {
	if _, _, err := t.Render(sample, nil); err != nil {
		return err
	}
	empty := sample
	empty.Data = nil
	if _, _, err := t.Render(empty, nil); err != nil {
		return fmt.Errorf("%w (with every path missing, as null: a {{path}} outside quotes must stand where a JSON value goes)", err)
	}
	return nil
}

// lookupPath finds the JSON value at path: the first segment names an object of extra
// (the last of that name) or of the event, the others reach into it.
func lookupPath(ev Event, extra []NamedObject, path []string) ([]byte, bool) {
	var v []byte
	found := false
	for i := len(extra) - 1; i >= 0 && !found; i-- {
		if extra[i].Name == path[0] {
			v, found = extra[i].Value, true
		}
	}
	if !found {
		v, found = ev.Data[path[0]]
	}
	if !found {
		return nil, false
	}
	if v = bytes.TrimSpace(v); len(v) == 0 {
		v = []byte("null") // an object given without a value is absent, as in DataObject
	}
	for _, key := range path[1:] {
		if v, found = member(v, key); !found {
			return nil, false
		}
	}
	return v, true
}

// member returns the value of key in the JSON object v or, for a key of digits, the
// element at that index of the JSON array v. Like encoding/json, the last of duplicate keys
// wins. It scans the raw bytes without decoding anything but the keys it compares.
func member(v []byte, key string) ([]byte, bool) {
	if len(v) == 0 {
		return nil, false
	}
	switch v[0] {
	case '{':
		var value []byte
		found := false
		i := skipSpace(v, 1)
		for i < len(v) && v[i] == '"' {
			keyEnd, ok := stringEnd(v, i)
			if !ok {
				return nil, false
			}
			match := keyEquals(v[i:keyEnd], key)
			if i = skipSpace(v, keyEnd); i >= len(v) || v[i] != ':' {
				return nil, false
			}
			i = skipSpace(v, i+1)
			end, ok := valueEnd(v, i)
			if !ok {
				return nil, false
			}
			if match {
				value, found = v[i:end], true
			}
			if i = skipSpace(v, end); i < len(v) && v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
		return value, found
	case '[':
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 {
			return nil, false
		}
		i := skipSpace(v, 1)
		for index := 0; i < len(v) && v[i] != ']'; index++ {
			end, ok := valueEnd(v, i)
			if !ok {
				return nil, false
			}
			if index == n {
				return v[i:end], true
			}
			if i = skipSpace(v, end); i < len(v) && v[i] == ',' {
				i = skipSpace(v, i+1)
			}
		}
	}
	return nil, false
}

// keyEquals reports whether the quoted JSON key q is key.
func keyEquals(q []byte, key string) bool {
	body := q[1 : len(q)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body) == key
	}
	var s string // an escaped key is rare: decode it properly
	return json.Unmarshal(q, &s) == nil && s == key
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts with the quote at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1, true
		}
	}
	return 0, false
}

// valueEnd returns the index after the JSON value that starts at b[i].
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end, ok := stringEnd(b, i)
				if !ok {
					return 0, false
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, true
				}
			}
		}
		return 0, false
	}
	start := i // a number, true, false or null
	for i < len(b) && !endsLiteral(b[i]) {
		i++
	}
	return i, i > start
}

// endsLiteral reports whether c ends a number, true, false or null.
func endsLiteral(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// appendAsText writes a JSON value into a JSON string being written: a string's text
// without its quotes, any other value as its compact JSON text. Quotes, backslashes and
// control characters are escaped (and U+2028 and U+2029, which break JavaScript), so no
// value, even one that is not valid JSON, can end the string it is written into.
func appendAsText(dst, v []byte) []byte {
	if end, ok := stringEnd(v, 0); len(v) > 0 && v[0] == '"' && ok && end == len(v) {
		// The value is already escaped as JSON: keep its escapes (a \" stays a quote in the
		// text) and escape what an invalid value could carry raw.
		body := v[1 : len(v)-1]
		for i := 0; i < len(body); i++ {
			c := body[i]
			if c == '\\' && i+1 < len(body) && strings.IndexByte(`"\/bfnrtu`, body[i+1]) >= 0 {
				dst = append(dst, c, body[i+1])
				i++
				continue
			}
			dst, i = appendTextByte(dst, body, i)
		}
		return dst
	}
	inString, escaped := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			escaped = false // the escaped byte is text like any other, and ends nothing
		case c == '"':
			inString = !inString
		case inString && c == '\\':
			escaped = true
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			continue // insignificant whitespace: the text is the compact JSON
		}
		dst, i = appendTextByte(dst, v, i)
	}
	return dst
}

// appendTextByte writes b[i] into a JSON string, escaped if it must be, and returns the
// index of the last byte it consumed (U+2028 and U+2029 take three).
func appendTextByte(dst, b []byte, i int) ([]byte, int) {
	switch c := b[i]; {
	case c < 0x20 || c == '"' || c == '\\':
		return appendEscapedASCII(dst, c), i
	case c == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && b[i+2]&^1 == 0xA8:
		return append(dst, '\\', 'u', '2', '0', '2', hexDigits[b[i+2]&0xF]), i + 2
	default:
		return append(dst, c), i
	}
}
