package payloads

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestJSONSyntaxError: malformed JSON is described with the byte, line and column of the
// fault, whether a Decoder's Decode, its Token or an early end found it.
func TestJSONSyntaxError(t *testing.T) {
	cases := []struct{ body, want string }{
		{`{"a":}`, "invalid JSON at byte 6 (line 1, column 6): invalid character '}' looking for beginning of value"},
		{"{\n  \"a\": 1,\n  \"b\": x}", "invalid JSON at byte 20 (line 3, column 8): invalid character 'x' looking for beginning of value"},
		{"{\"é\": 1,\n \"ü\":: 2}", "invalid JSON at byte 17 (line 2, column 6): invalid character ':' looking for beginning of value"},
		{`{"a": [1, 2`, "invalid JSON at byte 11 (line 1, column 11): unexpected end of JSON input"},
	}
	for _, c := range cases {
		var v map[string]any
		err := json.NewDecoder(bytes.NewReader([]byte(c.body))).Decode(&v)
		if got, ok := JSONSyntaxError([]byte(c.body), err); !ok || got != c.want {
			t.Errorf("Decode %q: got %q (%v), want %q", c.body, got, ok, c.want)
		}
		// Token's offsets are not from the start of the body; the description is the same.
		dec := json.NewDecoder(bytes.NewReader([]byte(c.body)))
		for {
			if _, err = dec.Token(); err != nil {
				break
			}
		}
		if got, ok := JSONSyntaxError([]byte(c.body), err); ok && got != c.want {
			t.Errorf("Token %q: got %q, want %q", c.body, got, c.want)
		}
	}
	var v struct{ A int }
	err := json.Unmarshal([]byte(`{"A": "x"}`), &v)
	if got, ok := JSONSyntaxError([]byte(`{"A": "x"}`), err); ok {
		t.Errorf("a type error is described as a syntax error: %q", got)
	}
}
