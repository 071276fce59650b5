package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestPrinterFormats prints one answer in every format: numbers keep every digit (no trip
// through float64), keys keep their order, strings that YAML would read as something else
// stay strings, and HTML is not escaped.
func TestPrinterFormats(t *testing.T) {
	raw := json.RawMessage(`{"name":"A <b> & c","big":12345678901234567890,"ratio":1.10,"code":"0700","on":"yes","none":null,"ok":true,"list":[],"obj":{},"nested":{"z":1,"a":2}}`)
	print := func(format string) string {
		t.Helper()
		var b bytes.Buffer
		p := printer{format: format, out: &b}
		if err := p.print(raw, func(w io.Writer) error { _, err := io.WriteString(w, "as text\n"); return err }); err != nil {
			t.Fatalf("-o %s: %v", format, err)
		}
		return b.String()
	}
	if got := print("text"); got != "as text\n" {
		t.Errorf("-o text: %q", got)
	}
	js := print("json")
	if !strings.Contains(js, `"big": 12345678901234567890`) || !strings.Contains(js, `"ratio": 1.10`) || !strings.Contains(js, `"A <b> & c"`) ||
		strings.Index(js, `"z"`) > strings.Index(js, `"a"`) || !strings.HasSuffix(js, "}\n") {
		t.Errorf("-o json:\n%s", js)
	}
	if got := print("jsonl"); got != string(raw)+"\n" {
		t.Errorf("-o jsonl of an object: %q", got)
	}
	y := print("yaml")
	for _, want := range []string{"name: A <b> & c\n", "big: 12345678901234567890\n", "ratio: 1.10\n", `code: "0700"`, "none: null\n", "ok: true\n", "list: []\n", "obj: {}\n", "nested:\n  z: 1\n  a: 2\n"} {
		if !strings.Contains(y, want) {
			t.Errorf("-o yaml lacks %q:\n%s", want, y)
		}
	}
	if strings.Index(y, "name:") > strings.Index(y, "big:") {
		t.Errorf("-o yaml reorders keys:\n%s", y)
	}
	// What -o yaml prints reads back as the same document.
	var fromYAML, fromJSON map[string]any
	if err := yaml.Unmarshal([]byte(y), &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if fromYAML["code"] != "0700" || fromYAML["on"] != "yes" || fromYAML["none"] != nil || fromYAML["ok"] != true {
		t.Errorf("-o yaml reads back as %v", fromYAML)
	}

	// A list answer: one item a line with jsonl.
	list := json.RawMessage(`{"object":"list","data":[{"id":"a","n":10000000000000000001},{"id":"b"}],"total":2,"has_more":false}`)
	var b bytes.Buffer
	if err := (printer{format: "jsonl", out: &b}).data(list); err != nil || b.String() != "{\"id\":\"a\",\"n\":10000000000000000001}\n{\"id\":\"b\"}\n" {
		t.Errorf("-o jsonl of a list: %v %q", err, b.String())
	}
	if err := (printer{format: "json", out: &b}).data(json.RawMessage(`{"a":`)); err == nil {
		t.Error("a broken answer printed without an error")
	}
}
