package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// A message's customers, as the body of POST /v1/distributions/{id}/messages gives them:
// a JSON object ({"customer": {...}} or {"customers": [...]}), JSON lines (one customer a
// line) or CSV with a header row. This is the parsing and the checks only, from bytes, with
// no HTTP and no store: messages.go reads the body and answers the problems. A problem
// names the field or the line at fault, so that whoever made a file of 100,000 customers
// finds the one refused.

// Limits of a message's customers.
const (
	// MaxMessageBytes bounds the body of POST /v1/distributions/{id}/messages, whatever its
	// format, and also the JSON that a CSV file's rows make: each repeats the column names.
	MaxMessageBytes = 64 << 20
	// MaxMessageCustomers bounds the customers of one message.
	MaxMessageCustomers = 100_000
	// MaxCustomerBytes bounds one customer object (compact JSON).
	MaxCustomerBytes = 256 << 10
	// MaxCSVColumns and MaxCSVColumnName bound a CSV file's header.
	MaxCSVColumns    = 1000
	MaxCSVColumnName = 256
)

// A customerProblem is a refused message body: what kind of problem, the field or line at
// fault ("" when it is the whole body), and what is wrong.
type customerProblem struct {
	kind  problemKind
	field string
	msg   string
	// problems are, when there are several (unknown keys), each with its field; msg
	// lists them all.
	problems []distributions.Problem
}

func (p *customerProblem) Error() string {
	if p.field == "" {
		return p.msg
	}
	return p.field + ": " + p.msg
}

// A problemKind is what is wrong with a body, which decides the HTTP status of the answer
// (customerProblem.status, in messages.go).
type problemKind int

const (
	// invalidBody: the body is not what its format says (UTF-8 text, JSON, CSV with a
	// header row), or not a message.
	invalidBody problemKind = iota + 1
	// tooLarge: more customers than a message takes, or a customer too large.
	tooLarge
	// invalidCustomers: the body is well-formed, but not customers a message can send to:
	// none, not objects, without an id, or the same one twice.
	invalidCustomers
	// unknownFormat: the media type is none of the formats.
	unknownFormat
)

func refuse(kind problemKind, field, format string, args ...any) *customerProblem {
	return &customerProblem{kind: kind, field: field, msg: fmt.Sprintf(format, args...)}
}

// messageRequest is what a POST asks for, in any of its formats. A JSON body gives the
// message's id and delay too; a file of customers leaves them to the query.
type messageRequest struct {
	id        string
	delay     *string
	customers []json.RawMessage
	// where[i] names customer i in errors: customer, customers[3], line 4.
	where func(i int) string
}

// parseCustomers reads a message's body of mediaType in its format, within the limits of
// the customers' count and size. checkCustomers checks each customer after it: the caller
// checks the message's id and delay in between, as their problems are answered first.
func parseCustomers(mediaType string, body []byte) (messageRequest, *customerProblem) {
	if !utf8.Valid(body) {
		return messageRequest{}, refuse(invalidBody, "", "the body is not valid UTF-8")
	}
	switch mediaType {
	case "application/json":
		return parseJSONMessage(body)
	case "application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines":
		customers, p := parseNDJSON(body)
		return messageRequest{customers: customers, where: lineOf(mediaType, body)}, p
	case "text/csv":
		customers, p := parseCSV(body)
		return messageRequest{customers: customers, where: lineOf(mediaType, body)}, p
	}
	return messageRequest{}, refuse(unknownFormat, "", "content-type %q: send application/json, application/x-ndjson (one customer per line) or text/csv", mediaType)
}

func parseJSONMessage(body []byte) (messageRequest, *customerProblem) {
	var in struct {
		ID        *string           `json:"id"`
		Delay     *string           `json:"delay"`
		Customer  json.RawMessage   `json:"customer"`
		Customers []json.RawMessage `json:"customers"`
	}
	req := messageRequest{}
	// Every unknown key is named at once, with its path and the fields meant, as the other
	// bodies of the API do; the decoder would stop at the first. The customers themselves
	// (raw JSON) take any key.
	if unknown := distributions.FieldProblems(body, in); unknown != nil {
		return req, &customerProblem{kind: invalidBody, msg: unknown.Error(), problems: unknown.Problems}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return req, jsonProblem(body, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, refuse(invalidBody, "", "invalid JSON: data after the message object")
	}
	if in.ID != nil {
		if *in.ID == "" {
			return req, refuse(invalidBody, "id", "must not be empty; leave it out to have one made")
		}
		req.id = *in.ID
	}
	req.delay = in.Delay
	switch {
	case in.Customer != nil && in.Customers != nil:
		return req, refuse(invalidBody, "customers", "give customer or customers, not both")
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
		return req, refuse(invalidBody, "customers",
			`is required: {"customer": {"id": "cust_1", ...}} or {"customers": [...]}, or send a file as application/x-ndjson or text/csv`)
	}
	return req, nil
}

func jsonProblem(body []byte, err error) *customerProblem {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return refuse(invalidBody, "", "the body must be a JSON object such as {\"customers\": [...]}")
		}
		return refuse(invalidBody, typeErr.Field, "must not be a JSON %s", typeErr.Value)
	case errors.Is(err, io.EOF):
		return refuse(invalidBody, "", `empty body: send {"customer": {...}} or {"customers": [...]}`)
	}
	if msg, ok := payloads.JSONSyntaxError(body, err); ok {
		return refuse(invalidBody, "", "%s", msg)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return refuse(invalidBody, name, "unknown field: a message has customer or customers, delay and id")
	}
	return refuse(invalidBody, "", "invalid JSON: %v", err)
}

func tooMany(n int) *customerProblem {
	return refuse(tooLarge, "customers",
		"%d customers or more, over the limit of %d per message: split them into several messages", n, MaxMessageCustomers)
}

// parseNDJSON reads one customer object per line; blank lines are skipped.
func parseNDJSON(body []byte) ([]json.RawMessage, *customerProblem) {
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
			if syntaxErr := (*json.SyntaxError)(nil); errors.As(err, &syntaxErr) {
				// The line is named in the field; the column is where on it.
				column := utf8.RuneCount(line[:max(syntaxErr.Offset-1, 0)]) + 1
				return nil, refuse(invalidBody, fmt.Sprintf("line %d", n), "invalid JSON at column %d: %v", column, err)
			}
			return nil, refuse(invalidBody, fmt.Sprintf("line %d", n), "invalid JSON: %v", err)
		}
		out = append(out, json.RawMessage(line))
	}
	return out, nil
}

// parseCSV reads customers from CSV with a header row. Each column is a field of the
// customer; a dotted column (metadata.tier) is a field of a nested object. Values are
// strings; empty cells are left out.
func parseCSV(body []byte) ([]json.RawMessage, *customerProblem) {
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	rd.ReuseRecord = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, refuse(invalidBody, "line 1", "empty file: want a header row such as id,email,name and a row per customer")
	}
	if err != nil {
		return nil, csvProblem(err)
	}
	// The header is on line 1 but for the blank lines before it, which encoding/csv skips.
	line, _ := rd.FieldPos(0)
	headerLine := fmt.Sprintf("line %d", line)
	if len(header) > MaxCSVColumns {
		return nil, refuse(invalidBody, headerLine, "%d columns, over the limit of %d", len(header), MaxCSVColumns)
	}
	cols := make([][]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if len(h) > MaxCSVColumnName {
			return nil, refuse(invalidBody, headerLine, "column %d: the name is %d bytes, over the limit of %d", i+1, len(h), MaxCSVColumnName)
		}
		path := strings.Split(h, ".")
		for _, part := range path {
			if part == "" {
				return nil, refuse(invalidBody, headerLine, "column %d: %q is not a field name such as email or metadata.tier", i+1, h)
			}
		}
		if seen[h] {
			return nil, refuse(invalidBody, headerLine, "column %q appears twice", h)
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
				return nil, refuse(invalidBody, headerLine, "columns %q and %q: %s cannot be both a value and an object", prefix, strings.TrimSpace(header[i]), prefix)
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
			return nil, refuse(tooLarge, fmt.Sprintf("line %d", line), "the customer is %d bytes as JSON, over the limit of %d", len(customer), MaxCustomerBytes)
		}
		if total += len(customer); total > MaxMessageBytes {
			return nil, refuse(tooLarge, "customers", "the customers take more than %d bytes as JSON: split them into several messages", MaxMessageBytes)
		}
		out = append(out, customer)
	}
	return out, nil
}

func csvProblem(err error) *customerProblem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return refuse(invalidBody, fmt.Sprintf("line %d", pe.Line), "invalid CSV: %v", pe.Err)
	}
	return refuse(invalidBody, "", "invalid CSV: %v", err)
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
	// The lines parseNDJSON reads: after the byte order mark, which is not a line's text.
	for line := range bytes.SplitSeq(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), []byte("\n")) {
		n++
		if len(bytes.TrimSpace(line)) > 0 {
			lines = append(lines, n)
		}
	}
	return func(i int) string { return "line " + strconv.Itoa(lines[i]) }
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

// checkCustomers checks every customer (an object, with an id or a source_id, within the
// size limit), compacts it in place, and refuses duplicates by id, naming both places.
func checkCustomers(req messageRequest) *customerProblem {
	if len(req.customers) == 0 {
		return refuse(invalidCustomers, "customers", "no customer: a message needs at least one")
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
			return refuse(invalidCustomers, where(), "a customer must be a JSON object such as {\"id\": \"cust_1\", \"email\": \"ann@example.com\"}")
		}
		buf.Reset()
		if err := json.Compact(&buf, raw); err != nil {
			return refuse(invalidBody, where(), "invalid JSON: %v", err)
		}
		if buf.Len() > MaxCustomerBytes {
			return refuse(tooLarge, where(), "the customer is %d bytes, over the limit of %d", buf.Len(), MaxCustomerBytes)
		}
		var ids struct {
			ID       any `json:"id"`
			SourceID any `json:"source_id"`
		}
		if err := json.Unmarshal(buf.Bytes(), &ids); err != nil {
			return refuse(invalidBody, where(), "invalid JSON: %v", err)
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
				return refuse(invalidCustomers, where(), "%s must be a non-empty string", f.name)
			}
			if key == "" {
				key = f.name + " " + strconv.Quote(s)
			}
		}
		if key == "" {
			return refuse(invalidCustomers, where(), "the customer has no id or source_id: each customer needs one, and one message sends to it once")
		}
		if j, dup := first[key]; dup {
			return refuse(invalidCustomers, where(), "duplicate customer: %s is also at %s; a message sends once to each customer", key, req.where(j))
		}
		first[key] = i
		req.customers[i] = bytes.Clone(buf.Bytes())
	}
	return nil
}
