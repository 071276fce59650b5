package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzMediaTypes are the formats FuzzParseCustomers feeds, one per format (the other
// JSON-lines media types take the same path).
var fuzzMediaTypes = []string{"application/json", "application/x-ndjson", "text/csv"}

const (
	fuzzJSON uint8 = iota
	fuzzJSONLines
	fuzzCSV
)

// FuzzParseCustomers parses any body in each format, as POST
// /v1/distributions/{id}/messages does (parseCustomers, then checkCustomers), and checks
// what must hold whatever the body: no panic; on success, customers that one message can
// send to, within the limits, each once; on failure, a client's problem (4xx) that names
// where it is.
func FuzzParseCustomers(f *testing.F) {
	wide := func(columns int) string {
		var b strings.Builder
		b.WriteString("id")
		for c := range columns {
			b.WriteString(",c" + strconv.Itoa(c))
		}
		b.WriteString("\nx" + strings.Repeat(",1", columns) + "\n")
		return b.String()
	}
	for _, seed := range []struct {
		format uint8
		body   string
	}{
		{fuzzJSON, `{"customers": [{"id": "a", "email": "ann@example.com"}, {"source_id": "src_b", "metadata": {"x": 1}}], "delay": "2s", "id": "promo-1"}`},
		{fuzzJSON, `{"customer": {"id": "cust_1", "name": "<Ann & Co>"}}`},
		{fuzzJSONLines, "{\"id\":\"a\"}\n\n  {\"id\": \"b\", \"tags\": [1,2]}\n"},
		{fuzzCSV, "id,email,metadata.tier,metadata.region,name\ncust_1,ann@example.com,gold,eu,\"Ann, \"\"A\"\"\"\ncust_2,,silver,,Bob\n"},
		// Deep nesting: past encoding/json's limit in a customer, and in a CSV column's dots.
		{fuzzJSON, `{"customer": {"id": "a", "x": ` + strings.Repeat("[", 10001)},
		{fuzzJSONLines, `{"id": "a", "x": ` + strings.Repeat(`[`, 10001) + "\n"},
		{fuzzJSONLines, `{"id": "a", "x": ` + strings.Repeat(`{"y":`, 100) + "1" + strings.Repeat("}", 100) + "}\n"},
		{fuzzCSV, "id," + strings.Repeat("a.", MaxCSVColumnName/2-1) + "a\nx,1\n"},
		// Column counts: at the limit, over it.
		{fuzzCSV, wide(MaxCSVColumns - 1)},
		{fuzzCSV, wide(MaxCSVColumns)},
		// Invalid UTF-8.
		{fuzzJSON, "{\"customer\": {\"id\": \"\xff\"}}"},
		{fuzzJSONLines, "{\"id\": \"a\xc3\"}\n"},
		{fuzzCSV, "id\n\xfe\xff\n"},
		// Byte order marks.
		{fuzzJSONLines, "\xef\xbb\xbf{\"id\":\"a\"}\n"},
		{fuzzCSV, "\xef\xbb\xbfid,email\na,a@example.com\n"},
		{fuzzJSON, "\xef\xbb\xbf{\"customer\": {\"id\": \"a\"}}"},
		// CRLF line ends.
		{fuzzJSONLines, "{\"id\":\"a\"}\r\n\r\n{\"id\":\"b\"}\r\n"},
		{fuzzCSV, "id,metadata.tier\r\na,gold\r\nb,\"multi\r\nline\"\r\n"},
		// Duplicates, missing ids, a column that is a value and an object.
		{fuzzJSON, `{"customers": [{"id": "a"}, {"id": "a"}]}`},
		{fuzzJSONLines, "{\"source_id\":\"s\"}\n{\"name\":\"no id\"}\n"},
		{fuzzCSV, "id,metadata,metadata.x\na,b,c\n"},
	} {
		f.Add(seed.format, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, format uint8, body []byte) {
		mediaType := fuzzMediaTypes[int(format)%len(fuzzMediaTypes)]
		req, p := parseCustomers(mediaType, body)
		if p != nil {
			checkProblem(t, mediaType, body, -1, p)
			return
		}
		if p := checkCustomers(req); p != nil {
			checkProblem(t, mediaType, body, len(req.customers), p)
			return
		}
		if n := len(req.customers); n == 0 || n > MaxMessageCustomers {
			t.Fatalf("%d customers accepted", n)
		}
		first := map[string]int{}
		for i, c := range req.customers {
			if len(c) > MaxCustomerBytes {
				t.Fatalf("customer %d: %d bytes accepted", i, len(c))
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, c); err != nil || !bytes.Equal(compact.Bytes(), c) {
				t.Fatalf("customer %d is not compact JSON: %q (%v)", i, c, err)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(c, &obj); err != nil || obj == nil {
				t.Fatalf("customer %d is not a JSON object: %q (%v)", i, c, err)
			}
			// The customer's identity as hookflow reads it when it sends (see
			// activities.MessageEvent): encoding/json, whose field names match
			// case-insensitively.
			var ids struct {
				ID       any `json:"id"`
				SourceID any `json:"source_id"`
			}
			if err := json.Unmarshal(c, &ids); err != nil {
				t.Fatalf("customer %d: %v", i, err)
			}
			key := ""
			for _, f := range []struct {
				name string
				v    any
			}{{"id", ids.ID}, {"source_id", ids.SourceID}} {
				if f.v == nil {
					continue
				}
				if s, ok := f.v.(string); !ok || s == "" {
					t.Fatalf("customer %d accepted with %s %v: %q", i, f.name, f.v, c)
				} else if key == "" {
					key = f.name + " " + s
				}
			}
			if key == "" {
				t.Fatalf("customer %d accepted without an id or source_id: %q", i, c)
			}
			if j, dup := first[key]; dup {
				t.Fatalf("customers %d and %d are both %s", j, i, key)
			}
			first[key] = i
		}
	})
}

// checkProblem checks a refused body's problem: a status of the client's, a message, and
// a field or line that exists. checked is the number of customers checkCustomers was
// given, -1 for a problem of parseCustomers.
func checkProblem(t *testing.T, mediaType string, body []byte, checked int, p *customerProblem) {
	t.Helper()
	if s := p.status(); s < 400 || s > 499 {
		t.Fatalf("status %d for %q", s, p.Error())
	}
	if p.msg == "" {
		t.Fatalf("a problem without a message, field %q", p.field)
	}
	if want := p.field + ": " + p.msg; p.field != "" && p.Error() != want {
		t.Fatalf("Error() %q, want %q", p.Error(), want)
	}
	file := mediaType != "application/json"
	if p.field == "" {
		// Only a problem of the whole body names nothing: not UTF-8, or (JSON) not a
		// message object. A file's problems name the line or the customers.
		if file && utf8.Valid(body) {
			t.Fatalf("%s problem names no line: %q", mediaType, p.Error())
		}
		return
	}
	if !file {
		// A customer of a JSON body is customer, or customers[i] of a list.
		if rest, ok := strings.CutPrefix(p.field, "customers["); ok && checked >= 0 {
			i, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
			if err != nil || i < 0 || i >= checked {
				t.Fatalf("field %q, of %d customers", p.field, checked)
			}
		}
		return
	}
	if p.field == "customers" {
		return
	}
	n, err := strconv.Atoi(strings.TrimPrefix(p.field, "line "))
	lines := bytes.Split(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), []byte("\n"))
	if !strings.HasPrefix(p.field, "line ") || err != nil || n < 1 || n > len(lines) {
		t.Fatalf("field %q in a body of %d lines: %q", p.field, len(lines), p.Error())
	}
	// The line named holds what is at fault: a customer, or the CSV header. An empty file
	// names line 1, where the header is missing; a CSV syntax error names the line where
	// the reader stopped, which may be one of a quoted field's blank lines.
	if strings.HasPrefix(p.msg, "empty file") || strings.HasPrefix(p.msg, "invalid CSV") {
		return
	}
	named := []int{n}
	// A duplicate names the first place of the customer too, an earlier line.
	if _, also, ok := strings.Cut(p.msg, " is also at line "); ok {
		m, err := strconv.Atoi(strings.TrimSuffix(also, "; a message sends once to each customer"))
		if err != nil || m < 1 || m >= n {
			t.Fatalf("%q: the first place is not an earlier line", p.Error())
		}
		named = append(named, m)
	}
	for _, n := range named {
		line := lines[n-1]
		blank := len(bytes.TrimSpace(line)) == 0 // as parseNDJSON skips lines
		if mediaType == "text/csv" {
			blank = len(bytes.TrimSuffix(line, []byte("\r"))) == 0 // as encoding/csv skips lines
		}
		if blank {
			t.Fatalf("%q names line %d, a blank line", p.Error(), n)
		}
	}
}
