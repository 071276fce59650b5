package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The OpenAPI document (openapi.yaml) held to the code and the docs: its routes are the
// route table's, the example bodies of the README and docs/ match its schemas, and the
// README's API table lists its routes, one a row.

// openAPIDoc is the parsed document.
type openAPIDoc struct {
	Paths      map[string]map[string]any `yaml:"paths"`
	Components struct {
		Schemas map[string]any `yaml:"schemas"`
	} `yaml:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if len(doc.Paths) == 0 || len(doc.Components.Schemas) == 0 {
		t.Fatal("openapi.yaml has no paths or no schemas")
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// operations are the document's routes as "METHOD /path".
func (d openAPIDoc) operations() []string {
	var ops []string
	for path, item := range d.Paths {
		for m := range item {
			if slices.Contains(httpMethods, m) {
				ops = append(ops, strings.ToUpper(m)+" "+path)
			}
		}
	}
	sort.Strings(ops)
	return ops
}

// TestOpenAPIRoutes: every route of the route table is in the document, and every route
// of the document is on the mux or, under CodecPath, taken by the codec handler.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	s := &Server{}
	table := map[string]bool{}
	for _, rt := range s.routeTable() {
		table[rt.pattern] = true
	}
	inDoc := map[string]bool{}
	codec := s.CodecHandler(nil, nil)
	for _, op := range doc.operations() {
		inDoc[op] = true
		method, path, _ := strings.Cut(op, " ")
		if strings.HasPrefix(path, CodecPath+"/") {
			// A body that is no JSON is refused before the codec is used: any answer but
			// 404 and 405 tells that the handler takes the route.
			rec := httptest.NewRecorder()
			codec.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader("not json")))
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
				t.Errorf("openapi.yaml names %s; the codec handler answers it %d", op, rec.Code)
			}
			continue
		}
		if !table[op] {
			t.Errorf("openapi.yaml names %s, which is not in the route table (routes.go)", op)
		}
	}
	for p := range table {
		if !inDoc[p] {
			t.Errorf("route %s (routes.go) is missing from openapi.yaml", p)
		}
	}
	// Every operation says what it answers, and those that take a key answer 401 and 403.
	for path, item := range doc.Paths {
		for m, v := range item {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			op, _ := v.(map[string]any)
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s %s: no responses", m, path)
			}
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				continue
			}
			for _, code := range []string{"401", "403"} {
				if _, ok := responses[code]; !ok {
					t.Errorf("%s %s needs a key but does not list %s", strings.ToUpper(m), path, code)
				}
			}
		}
	}
}

// TestOpenAPIServed: GET /openapi.yaml answers the embedded document, without a key even
// when keys are required.
func TestOpenAPIServed(t *testing.T) {
	srv := httptest.NewServer((&Server{RequireKeys: true}).Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + OpenAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || res.Header.Get("content-type") != "application/yaml" {
		t.Fatalf("GET %s: %d %q", OpenAPIPath, res.StatusCode, res.Header.Get("content-type"))
	}
	if string(body) != string(OpenAPI) {
		t.Errorf("GET %s answered %d bytes, not the document's %d", OpenAPIPath, len(body), len(OpenAPI))
	}
	// Only GET: on an open API another method is told so (with keys required, a wrong
	// method gets the 401 of any route, see Handler).
	open := httptest.NewServer((&Server{}).Handler())
	defer open.Close()
	res, err = http.Post(open.URL+OpenAPIPath, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", OpenAPIPath, res.StatusCode)
	}
}

// exampleMarker names the schema of the JSON code block that follows it in a document.
var exampleMarker = regexp.MustCompile("(?m)^<!-- openapi: ([A-Za-z]+) -->\\s*\n```json\n((?s:.*?))\n```")

// TestOpenAPIDocExamples: every JSON example marked as an API body in the README and
// docs/*.md is valid against the schema the marker names.
func TestOpenAPIDocExamples(t *testing.T) {
	doc := loadOpenAPI(t)
	files, _ := filepath.Glob("../docs/*.md")
	files = append(files, "../README.md")
	found := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if n, m := strings.Count(string(raw), "<!-- openapi:"), len(exampleMarker.FindAllIndex(raw, -1)); n != m {
			t.Errorf("%s: %d openapi markers, %d of them before a json block", file, n, m)
		}
		for _, m := range exampleMarker.FindAllSubmatch(raw, -1) {
			found++
			name := string(m[1])
			schema, ok := doc.Components.Schemas[name]
			if !ok {
				t.Errorf("%s: the marker names schema %s, which openapi.yaml does not have", file, name)
				continue
			}
			var v any
			if err := json.Unmarshal(m[2], &v); err != nil {
				t.Errorf("%s: the %s example is not JSON: %v", file, name, err)
				continue
			}
			for _, problem := range doc.validate(schema, v, "") {
				t.Errorf("%s: the %s example: %s", file, name, problem)
			}
		}
	}
	if found < 3 {
		t.Errorf("found %d marked examples; want the README's distribution, the 422 of docs/distributions.md and the program request of docs/programs.md at least", found)
	}
}

// TestOpenAPIValidator: the validator of the doc examples refuses what the schemas do not
// allow, so that TestOpenAPIDocExamples can fail.
func TestOpenAPIValidator(t *testing.T) {
	doc := loadOpenAPI(t)
	tests := []struct {
		schema, body string
		ok           bool
	}{
		{"Distribution", `{"name":"a","trigger":{"events":["x"]},"action":{"type":"plain_message"},"webhook":{"url":"https://e.com"}}`, true},
		{"Distribution", `{"name":"a","trigger":{"events":["x"]},"action":{"type":"plain_message"},"webhook":{"url":"https://e.com"},"colour":1}`, false},
		{"Distribution", `{"name":"a","trigger":{"events":["x"]},"action":{"type":"plain_message"}}`, false},
		{"Distribution", `{"name":"a","status":"asleep","trigger":{"events":["x"]},"action":{"type":"plain_message"},"webhook":{"url":"u"}}`, false},
		{"Distribution", `{"name":"a","trigger":{"events":"x"},"action":{"type":"plain_message"},"webhook":{"url":"u"}}`, false},
		{"Distribution", `{"name":"a","trigger":{"events":["x"],"live_from":"tomorrow"},"action":{"type":"p"},"webhook":{"url":"u"}}`, false},
		{"Distribution", `{"name":"a","trigger":{"events":["x"]},"action":{"type":"p"},"webhook":{"url":"u","retry_schedule":["1s","2s"]}}`, true},
		{"Distribution", `{"name":"a","trigger":{"events":["x"]},"action":{"type":"p"},"webhook":{"url":"u","retry_schedule":3}}`, false},
		{"Error", `{"error":{"type":"conflict","message":"m","field":"version"}}`, true},
		{"Error", `{"error":{"type":"oops","message":"m"}}`, false},
		{"APIKeyList", `{"object":"list","data":[{"id":"k","name":"n","scopes":["manage"],"prefix":"p","created_at":"2026-01-01T00:00:00Z","last_used_at":null}],"total":1,"has_more":false}`, true},
		{"APIKeyList", `{"object":"list","data":[{"id":"k","name":"n","scopes":["root"],"prefix":"p","created_at":"2026-01-01T00:00:00Z","last_used_at":null}],"total":1,"has_more":false}`, false},
		{"APIKeyList", `{"object":"list","data":[],"total":0}`, false},
	}
	for _, tt := range tests {
		var v any
		if err := json.Unmarshal([]byte(tt.body), &v); err != nil {
			t.Fatal(err)
		}
		problems := doc.validate(doc.Components.Schemas[tt.schema], v, "")
		if (len(problems) == 0) != tt.ok {
			t.Errorf("%s %s: problems %q, want ok=%v", tt.schema, tt.body, problems, tt.ok)
		}
	}
}

// validate checks v against schema, in the subset of JSON Schema openapi.yaml uses: $ref,
// type (one or a list), properties, required, additionalProperties, enum, items, allOf,
// oneOf and format date-time. It returns a problem a line, each naming its path.
func (d openAPIDoc) validate(schema any, v any, at string) []string {
	s, _ := schema.(map[string]any)
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, found := d.Components.Schemas[name]
		if !found {
			return []string{fmt.Sprintf("%s: $ref %s is not in openapi.yaml", at, ref)}
		}
		return d.validate(target, v, at)
	}
	var problems []string
	for _, sub := range asList(s["allOf"]) {
		problems = append(problems, d.validate(sub, v, at)...)
	}
	if one := asList(s["oneOf"]); len(one) > 0 {
		matched := 0
		for _, sub := range one {
			if len(d.validate(sub, v, at)) == 0 {
				matched++
			}
		}
		if matched != 1 {
			problems = append(problems, fmt.Sprintf("%s: matches %d of the oneOf schemas, not one", at, matched))
		}
	}
	if t, ok := s["type"]; ok {
		types := asList(t)
		if len(types) == 0 {
			types = []any{t}
		}
		if !slices.ContainsFunc(types, func(want any) bool { return jsonType(v, want.(string)) }) {
			return append(problems, fmt.Sprintf("%s: %s is not of type %v", at, shortJSON(v), t))
		}
	}
	if enum := asList(s["enum"]); len(enum) > 0 && !slices.Contains(enum, v) {
		problems = append(problems, fmt.Sprintf("%s: %s is not one of %v", at, shortJSON(v), enum))
	}
	if str, ok := v.(string); ok && s["format"] == "date-time" {
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %q is not an RFC 3339 date-time", at, str))
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := v[r.(string)]; !ok {
				problems = append(problems, fmt.Sprintf("%s: %s is required", at, r))
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := props[k]; ok {
				problems = append(problems, d.validate(p, v[k], at+"."+k)...)
				continue
			}
			switch extra := s["additionalProperties"].(type) {
			case bool:
				if !extra {
					problems = append(problems, fmt.Sprintf("%s: unknown field %s", at, k))
				}
			case map[string]any:
				problems = append(problems, d.validate(extra, v[k], at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, e := range v {
				problems = append(problems, d.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return problems
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func jsonType(v any, want string) bool {
	switch want {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "null":
		return v == nil
	}
	return false
}

func shortJSON(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// TestOpenAPIReadmeTable: the README's API table has one row per route of openapi.yaml,
// each first cell exactly `METHOD /path`, and no other rows.
func TestOpenAPIReadmeTable(t *testing.T) {
	doc := loadOpenAPI(t)
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(raw), "| method and path | what it does |\n|---|---|\n")
	if !ok {
		t.Fatal("README.md has no API table (| method and path | what it does |)")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	cell := regexp.MustCompile("^\\| `([A-Z]+ /[^`]*)` \\| .+ \\|$")
	rows := map[string]bool{}
	for i, line := range strings.Split(table, "\n") {
		m := cell.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("README API table row %d: its first cell is not one `METHOD /path`: %s", i+1, line)
			continue
		}
		if rows[m[1]] {
			t.Errorf("README API table: %s has two rows", m[1])
		}
		rows[m[1]] = true
	}
	ops := doc.operations()
	for _, op := range ops {
		if !rows[op] {
			t.Errorf("README API table has no row for %s", op)
		}
	}
	for r := range rows {
		if !slices.Contains(ops, r) {
			t.Errorf("README API table lists %s, which openapi.yaml does not have", r)
		}
	}
}
