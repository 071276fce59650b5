package api

import (
	"strings"
	"testing"
)

// TestParseCustomers tests the parser alone, from bytes; TestMessageBadInputStoresNothing
// has the answers that the API makes of its problems.
func TestParseCustomers(t *testing.T) {
	const noID = "the customer has no id or source_id: each customer needs one, and one message sends to it once"
	tests := []struct {
		name, mediaType, body string
		// customers, id and delay on success; kind and problem (its Error()) on failure.
		customers []string
		id, delay string
		kind      problemKind
		problem   string
	}{
		{name: "JSON, one customer, with id and delay", mediaType: "application/json",
			body:      `{"customer": {"id": "cust_1", "email": "ann@example.com", "tags": [1, 2]}, "id": "m1", "delay": "2s"}`,
			customers: []string{`{"id":"cust_1","email":"ann@example.com","tags":[1,2]}`}, id: "m1", delay: "2s"},
		{name: "JSON, a list", mediaType: "application/json",
			body:      `{"customers": [{"id": "a"}, {"source_id": "src_b", "metadata": {"x": 1}}]}`,
			customers: []string{`{"id":"a"}`, `{"source_id":"src_b","metadata":{"x":1}}`}},
		{name: "JSON lines with a byte order mark and CRLF", mediaType: "application/x-ndjson",
			body:      "\xef\xbb\xbf{\"id\":\"a\"}\r\n\r\n  {\"id\": \"b\", \"tags\": [1, 2]}\n",
			customers: []string{`{"id":"a"}`, `{"id":"b","tags":[1,2]}`}},
		{name: "JSON lines under another media type", mediaType: "application/jsonl",
			body: "{\"id\":\"a\"}\n", customers: []string{`{"id":"a"}`}},
		{name: "CSV with nested columns", mediaType: "text/csv",
			body: "\xef\xbb\xbfid,metadata.tier,metadata.region,name\r\ncust_1,gold,eu,\"Ann, \"\"A\"\"\"\ncust_2,silver,,\n",
			customers: []string{`{"id":"cust_1","metadata":{"tier":"gold","region":"eu"},"name":"Ann, \"A\""}`,
				`{"id":"cust_2","metadata":{"tier":"silver"}}`}},

		{name: "not UTF-8", mediaType: "text/csv", body: "id\n\xff\n",
			kind: invalidBody, problem: "the body is not valid UTF-8"},
		{name: "unknown format", mediaType: "application/xml", body: "<customer/>",
			kind: unknownFormat, problem: `content-type "application/xml": send application/json, application/x-ndjson (one customer per line) or text/csv`},
		{name: "JSON duplicate", mediaType: "application/json", body: `{"customers": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}`,
			kind: invalidCustomers, problem: `customers[2]: duplicate customer: id "a" is also at customers[0]; a message sends once to each customer`},
		{name: "JSON lines, too many", mediaType: "application/x-ndjson", body: strings.Repeat("{\"id\":\"a\"}\n", MaxMessageCustomers+1),
			kind: tooLarge, problem: "customers: 100001 customers or more, over the limit of 100000 per message: split them into several messages"},
		{name: "CSV, a customer's line after a quoted line break", mediaType: "text/csv", body: "id,note\na,\"two\nlines\"\n,x\n",
			kind: invalidCustomers, problem: "line 4: " + noID},

		// The lines named after what encoding/csv and the byte order mark skip (found by
		// FuzzParseCustomers: they named the line before).
		{name: "JSON lines, a blank line after the byte order mark", mediaType: "application/x-ndjson",
			body: "\xef\xbb\xbf\n{\"id\":\"a\"}\n{\"id\":\"a\"}\n",
			kind: invalidCustomers, problem: `line 3: duplicate customer: id "a" is also at line 2; a message sends once to each customer`},
		{name: "CSV, blank lines before the header", mediaType: "text/csv", body: "\n\nid,id\na,b\n",
			kind: invalidBody, problem: `line 3: column "id" appears twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, p := parseCustomers(tt.mediaType, []byte(tt.body))
			if p == nil {
				p = checkCustomers(req)
			}
			if tt.problem != "" {
				if p == nil || p.kind != tt.kind || p.Error() != tt.problem {
					t.Fatalf("problem %+v, want kind %d %q", p, tt.kind, tt.problem)
				}
				return
			}
			if p != nil {
				t.Fatalf("problem %q", p.Error())
			}
			var got []string
			for _, c := range req.customers {
				got = append(got, string(c))
			}
			if strings.Join(got, "\n") != strings.Join(tt.customers, "\n") {
				t.Errorf("customers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.customers, "\n"))
			}
			delay := ""
			if req.delay != nil {
				delay = *req.delay
			}
			if req.id != tt.id || delay != tt.delay {
				t.Errorf("id %q delay %q, want %q %q", req.id, delay, tt.id, tt.delay)
			}
		})
	}
}
