package payloads

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// JSONSyntaxError describes err, met while decoding body as JSON, when it is malformed JSON
// or JSON that ends too early, with where in body: "invalid JSON at byte 17 (line 2,
// column 9): invalid character 'x' looking for beginning of value". It is false for any
// other error (a wrong type, an unknown field), which the caller names by field.
func JSONSyntaxError(body []byte, err error) (string, bool) {
	var syntaxErr *json.SyntaxError
	if !errors.As(err, &syntaxErr) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", false
	}
	// The offset of a json.Decoder's Token is not from the start of the body, and an early
	// end is no SyntaxError at all: decoding the whole body again finds the first fault
	// and where it is.
	var v any
	var whole *json.SyntaxError
	if errors.As(json.Unmarshal(body, &v), &whole) {
		syntaxErr = whole
	}
	if syntaxErr == nil {
		return fmt.Sprintf("invalid JSON at %s: the JSON ends too early", JSONPosition(body, int64(len(body)))), true
	}
	return fmt.Sprintf("invalid JSON at %s: %s", JSONPosition(body, syntaxErr.Offset), syntaxErr.Error()), true
}

// JSONPosition says where the offset-th byte of body (from 1, as json.SyntaxError.Offset
// counts) is, as people look for it in an editor: "byte 17 (line 2, column 9)", lines
// from 1 and columns in characters from 1.
func JSONPosition(body []byte, offset int64) string {
	i := int(min(max(offset, 1), int64(len(body)))) - 1 // the byte's index
	if i < 0 {
		return "byte 0 (line 1, column 1)"
	}
	before := body[:i]
	line := bytes.Count(before, []byte("\n")) + 1
	column := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("byte %d (line %d, column %d)", offset, line, column)
}
