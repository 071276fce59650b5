package payloads

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// templateEvent carries the values the template tests reach for, including strings that
// try to break out of the JSON string they are written into.
func templateEvent() Event {
	return Event{Type: "customer.order.paid", Data: map[string]json.RawMessage{
		"customer": json.RawMessage(`{"id":"c1","name":"Ann","segments":["vip","new"],"nick":null,` +
			`"tricky":"a\"b\\c\nd\te\u0001f\u2028g/\u00e9",` +
			`"evil":"\"},\"evil\":{\"",` +
			`"raw_separator":"a` + "\u2028" + `b"}`),
		"order": json.RawMessage(`{"id":"o1","amount":12000,"paid":true,"ratio":-0.5e1,` +
			`"metadata":{"channel":"web","tags":["x"],"note":"say \"hi\"\\n"},"items":[{"sku":"A"},{"sku":"B"}]}`),
		"odd":      json.RawMessage(`{"k":1,"k":2,"a\u0062":"escaped key","nested":{"k":[true,{"deep":null}]}}`),
		"referrer": json.RawMessage(`null`),
	}}
}

func TestTemplateRender(t *testing.T) {
	extra := []NamedObject{
		{"voucher", json.RawMessage(" { \"code\" : \"X-1\" ,\n \"n\" : [1, 2] } ")},
		{"customer", json.RawMessage(`{"name":"Extra"}`)},
	}
	tests := []struct {
		name, template string
		extra          []NamedObject
		want           string
		warnings       []string
	}{
		{name: "typed whole values",
			template: `{"n":{{order.amount}},"b":{{order.paid}},"f":{{order.ratio}},"o":{{order.metadata}},"a":{{customer.segments}},"s":{{customer.name}},"z":{{customer.nick}}}`,
			want:     `{"n":12000,"b":true,"f":-0.5e1,"o":{"channel":"web","tags":["x"],"note":"say \"hi\"\\n"},"a":["vip","new"],"s":"Ann","z":null}`},
		{name: "whitespace inside braces and around values is compacted",
			template: "{ \"n\" : {{ order.amount }} ,\n\t\"s\": \"{{  customer.name\t}}\" }",
			want:     `{"n":12000,"s":"Ann"}`},
		{name: "text placeholders",
			template: `{"t":"Hi {{customer.name}}: {{order.amount}} {{order.paid}} {{customer.segments}} {{customer.nick}}!"}`,
			want:     `{"t":"Hi Ann: 12000 true [\"vip\",\"new\"] null!"}`},
		{name: "an object as text is its compact JSON, escaped",
			template: `{"t":"{{order.metadata}}"}`,
			want:     `{"t":"{\"channel\":\"web\",\"tags\":[\"x\"],\"note\":\"say \\\"hi\\\"\\\\n\"}"}`},
		{name: "nested paths and array indexes",
			template: `{"c":{{order.metadata.channel}},"t":{{order.metadata.tags.0}},"sku":"{{order.items.1.sku}}","seg":"{{customer.segments.1}}","deep":{{odd.nested.k.1.deep}}}`,
			want:     `{"c":"web","t":"x","sku":"B","seg":"new","deep":null}`},
		{name: "missing paths: null, empty text, one warning each",
			template: `{"a":{{order.nope}},"b":"x{{nope.y}}y","c":{{customer.name.first}},"d":{{order.items.9}},"e":"{{referrer.name}}","f":{{order.nope}},"g":{{order.items.x}}}`,
			want:     `{"a":null,"b":"xy","c":null,"d":null,"e":"","f":null,"g":null}`,
			warnings: []string{
				"template: {{order.nope}} has no value in this event; rendered as null",
				"template: {{nope.y}} has no value in this event; rendered as an empty string",
				"template: {{customer.name.first}} has no value in this event; rendered as null",
				"template: {{order.items.9}} has no value in this event; rendered as null",
				"template: {{referrer.name}} has no value in this event; rendered as an empty string",
				"template: {{order.items.x}} has no value in this event; rendered as null",
			}},
		{name: "a string as a whole value keeps its escapes",
			template: `{"s":{{customer.tricky}}}`,
			want:     `{"s":"a\"b\\c\nd\te\u0001f\u2028g/\u00e9"}`},
		{name: "a string as text keeps its escapes",
			template: `{"s":"<{{customer.tricky}}>"}`,
			want:     `{"s":"<a\"b\\c\nd\te\u0001f\u2028g/\u00e9>"}`},
		{name: "U+2028 as text is escaped",
			template: `{"s":"{{customer.raw_separator}}"}`,
			want:     `{"s":"a\u2028b"}`},
		{name: "escaped quotes and backslashes in the template keep the string context",
			template: `{"q":"say \"{{customer.name}}\" now","n":{{order.amount}},"bs":"\\","after":{{order.paid}},"u":"\u0022{{order.id}}"}`,
			want:     `{"q":"say \"Ann\" now","n":12000,"bs":"\\","after":true,"u":"\u0022o1"}`},
		{name: "placeholders next to braces",
			template: `{"o":{"a":{{order.amount}}},"l":[{{order.paid}},{{order.id}}]}`,
			want:     `{"o":{"a":12000},"l":[true,"o1"]}`},
		{name: "a placeholder as the whole template",
			template: ` {{order.metadata.tags}} `,
			want:     `["x"]`},
		{name: "the last of duplicate keys wins and escaped keys match",
			template: `{"k":{{odd.k}},"ab":{{odd.ab}}}`,
			want:     `{"k":2,"ab":"escaped key"}`},
		{name: "extra objects win and are compacted",
			template: `{"c":"{{voucher.code}}","n":{{voucher.n}},"t":"{{voucher.n}}","name":"{{customer.name}}","id":{{customer.id}}}`,
			extra:    extra,
			want:     `{"c":"X-1","n":[1,2],"t":"[1,2]","name":"Extra","id":null}`,
			warnings: []string{"template: {{customer.id}} has no value in this event; rendered as null"}},
		{name: "a key from a placeholder",
			template: `{"{{customer.name}}":1}`,
			want:     `{"Ann":1}`},
		{name: "no placeholders",
			template: `{"static": [1, 2, {"a": "{b}"}]}`,
			want:     `{"static":[1,2,{"a":"{b}"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := CompileTemplate(tt.template)
			if err != nil {
				t.Fatal(err)
			}
			got, warnings, err := tmpl.Render(templateEvent(), tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Render =\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q, want %q", warnings, tt.warnings)
			}
		})
	}
}

// TestTemplateEscapingCannotBreakOut writes strings that try to close the string they are
// written into and open a key of their own; they must arrive as plain text.
func TestTemplateEscapingCannotBreakOut(t *testing.T) {
	hostile := []string{
		`"},"evil":{"`,
		`\"},\"evil\":{\"`,
		`\`,
		"line\nbreak\r\ttab\x00nul\x1f\u2028\u2029",
		`{{customer.name}}`,
		`</script><script>`,
	}
	for _, s := range hostile {
		value, _ := json.Marshal(s)
		ev := Event{Data: map[string]json.RawMessage{
			"customer": json.RawMessage(`{"name":` + string(value) + `,"obj":{"n":` + string(value) + `}}`),
		}}
		for _, template := range []string{
			`{"greeting":"Hello {{customer.name}}!"}`,
			`{"{{customer.name}}":"key"}`,
			`{"greeting":"{{customer.obj}}"}`,
		} {
			tmpl, err := CompileTemplate(template)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := tmpl.Render(ev, nil)
			if err != nil {
				t.Fatalf("%q in %s: %v", s, template, err)
			}
			var m map[string]string
			if err := json.Unmarshal(got, &m); err != nil || len(m) != 1 {
				t.Fatalf("%q in %s broke the object: %s (%v)", s, template, got, err)
			}
			want := map[string]map[string]string{
				`{"greeting":"Hello {{customer.name}}!"}`: {"greeting": "Hello " + s + "!"},
				`{"{{customer.name}}":"key"}`:             {s: "key"},
				`{"greeting":"{{customer.obj}}"}`:         {"greeting": `{"n":` + string(value) + `}`},
			}[template]
			if !reflect.DeepEqual(m, want) {
				t.Errorf("%q in %s = %q, want %q", s, template, m, want)
			}
			if strings.ContainsAny(string(got), "\n\r\t\x00\u2028\u2029") {
				t.Errorf("%q in %s: a control character or separator went out raw: %q", s, template, got)
			}
		}
	}
}

// TestTemplateTextEscapesRawCharacters covers values that are not valid JSON strings
// (an extra object given by code): raw control characters are still escaped as text.
func TestTemplateTextEscapesRawCharacters(t *testing.T) {
	extra := []NamedObject{{"x", json.RawMessage("{\"s\":\"a\nb\x01c\",\"o\":{\"t\":\"d\te\"}}")}}
	tmpl, err := CompileTemplate(`{"s":"{{x.s}}","o":"{{x.o}}"}`)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := tmpl.Render(Event{}, extra)
	if want := `{"s":"a\nb\u0001c","o":"{\"t\":\"d\te\"}"}`; err != nil || string(got) != want {
		t.Errorf("Render = %s, %v; want %s", got, err, want)
	}
}

func TestCompileTemplateErrors(t *testing.T) {
	tests := []struct{ template, want string }{
		{`{"a":{{order.amount}`, `"{{order.amount}" at byte 5 has no closing }}`},
		{`{"a":"{{order.amount"}`, `"{{order.amount\"}" at byte 6 has no closing }}`},
		{`{"a":{{order.amount and a long tail that is cut}`, `"{{order.amount and a lon..."`},
		{`{"a":{{}}}`, `placeholder {{}} at byte 5: empty path`},
		{`{"a":{{  }}}`, `placeholder {{  }} at byte 5: empty path`},
		{`{"a":{{order..id}}}`, `placeholder {{order..id}} at byte 5: path "order..id" has an empty segment`},
		{`{"a":{{.order}}}`, `{{.order}} at byte 5: path ".order" has an empty segment`},
		{`{"a":{{order.}}}`, `{{order.}} at byte 5: path "order." has an empty segment`},
		{`{"a":{{order amount}}}`, `{{order amount}} at byte 5: path "order amount": segments hold only`},
		{`{"a":"{{order."id"}}"}`, `segments hold only`},
		{`{"a":{{ {{order.id}} }}}`, `segments hold only`},
		{`{"a":"open}`, `a string is not closed`},
		// A placeholder inside a \u escape would make the escape's digits depend on the
		// event: valid with one value, broken with another, so Validate could not tell.
		{`{"a":"\u{{order.id}}0000"}`, `\u escape at byte 6 needs four hex digits`},
		{`{"a":"\u00{{order.id}}"}`, `\u escape at byte 6 needs four hex digits`},
		{`{"a":"\u12"}`, `\u escape at byte 6 needs four hex digits`},
		{"{\"a\":\"\xff\"}", `not valid UTF-8`},
	}
	for _, tt := range tests {
		_, err := CompileTemplate(tt.template)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CompileTemplate(%q) = %v, want an error containing %q", tt.template, err, tt.want)
		}
	}
}

func TestTemplateInvalidJSON(t *testing.T) {
	for _, template := range []string{
		`{"a":{{order.amount}} "b":1}`,
		`{"a":1,}`,
		`{"a":{{order.id}}x}`,
		`{"a":"b"} {"c":1}`,
		`{"a":"\x"}`,
		`{"a":"\{{order.id}}"}`,
		``,
	} {
		tmpl, err := CompileTemplate(template)
		if err != nil {
			t.Errorf("CompileTemplate(%q): %v", template, err)
			continue
		}
		if _, _, err := tmpl.Render(templateEvent(), nil); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
			t.Errorf("Render(%q) = %v, want not valid JSON", template, err)
		}
		if err := tmpl.Validate(SampleEvent("customer.order.paid")); err == nil {
			t.Errorf("Validate(%q) accepted it", template)
		}
	}
}

func TestTemplateValidate(t *testing.T) {
	sample := SampleEvent("customer.order.paid")
	tests := []struct {
		template string
		ok       bool
	}{
		{`{"total":{{order.amount}},"who":"{{customer.name}} {{nobody.name}}","o":{{order}}}`, true},
		{`{"missing":{{nobody.name}}}`, true},
		// The sample renders a string key, but a missing name would render null as a key.
		{`{ {{customer.name}}: 1}`, false},
		{`{"a":{{order.amount}}{{order.id}}}`, false},
	}
	for _, tt := range tests {
		tmpl, err := CompileTemplate(tt.template)
		if err != nil {
			t.Fatal(err)
		}
		if err := tmpl.Validate(sample); (err == nil) != tt.ok {
			t.Errorf("Validate(%s) = %v, want ok %v", tt.template, err, tt.ok)
		}
	}
}

// templateGoldenCase renders the designer template of testdata on a sample order with a
// publish_code action, in a version or raw.
func templateGoldenCase(t *testing.T, version string, raw bool) (name string, body []byte, warnings []string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "template", "designer.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := catalogueCase{"customer.order.paid", ActionPublishCode, version}
	target := c.target()
	target.Template, target.Raw = string(src), raw
	ev := SampleEvent(c.trigger)
	body, warnings, err = RenderWithWarnings(ev, target, DeliveryID(ev.ID, target.SourceID), goldenCreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	name = "order_paid.publish_code." + version
	if raw {
		name = "order_paid.publish_code.raw"
	}
	return filepath.Join("template", name+".json"), body, warnings
}

func TestTemplateGolden(t *testing.T) {
	wantData := []string{"greeting", "total", "currency", "channel", "code", "campaign_id", "referred_by", "gift_message", "static"}
	wantWarnings := []string{"template: {{order.metadata.gift_message}} has no value in this event; rendered as an empty string"}
	for _, mode := range []struct {
		version string
		raw     bool
	}{{Version2024, false}, {Version2018, false}, {Version2024, true}} {
		name, got, warnings := templateGoldenCase(t, mode.version, mode.raw)
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name, got)
			var compacted bytes.Buffer
			if err := json.Compact(&compacted, got); err != nil || !bytes.Equal(compacted.Bytes(), got) {
				t.Errorf("body is not compact valid JSON: %v", err)
			}
			if !reflect.DeepEqual(warnings, wantWarnings) {
				t.Errorf("warnings = %q, want %q", warnings, wantWarnings)
			}
			if mode.raw {
				if got := orderedKeys(t, got); !reflect.DeepEqual(got, wantData) {
					t.Errorf("raw body keys = %v, want the template's %v", got, wantData)
				}
				return
			}
			checkKeys(t, got, mode.version, wantData)
		})
	}
	// Raw mode sends no envelope, so the version makes no difference.
	_, raw2024, _ := templateGoldenCase(t, Version2024, true)
	_, raw2018, _ := templateGoldenCase(t, Version2018, true)
	if string(raw2024) != string(raw2018) {
		t.Errorf("raw bodies differ between versions:\n%s\n%s", raw2024, raw2018)
	}
}

// FuzzTemplateText writes any string, and any bytes as an object, into a JSON string of a
// template: the result is JSON with the one key of the template, or an error, never
// anything else. Its seeds run with every go test.
func FuzzTemplateText(f *testing.F) {
	for _, s := range []string{`"},"evil":{"`, `\`, "\x00\n\u2028", `{"a":[1,"]\""]}`, `"unterminated`, `{"s":"a\"}`} {
		f.Add(s)
	}
	tmpl, err := CompileTemplate(`{"a":"x{{o.s}}y{{o}}z"}`)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		value, _ := json.Marshal(s)
		for _, obj := range []string{`{"s":` + string(value) + `}`, s} {
			got, _, err := tmpl.Render(Event{Data: map[string]json.RawMessage{"o": json.RawMessage(obj)}}, nil)
			if err != nil {
				continue
			}
			var m map[string]string
			if err := json.Unmarshal(got, &m); err != nil || len(m) != 1 {
				t.Fatalf("object %q rendered %s: %v", obj, got, err)
			}
			// json.Marshal turns invalid UTF-8 into U+FFFD, so only valid text comes back as is.
			if obj != s && utf8.ValidString(s) && m["a"] != "x"+s+"y"+obj+"z" {
				t.Errorf("object %q rendered %q", obj, m["a"])
			}
		}
	})
}
