package payloads

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzTemplate compiles any template and renders it on a sample event that carries a
// hostile string h as object o: {"s": h, "m": {h: h}}. It must never panic; whatever
// Render returns without an error is valid JSON; the rendering has the same shape (the
// same delimiters, keys and values, whatever they hold) as with a harmless h, so no text
// of h ever leaves the string it is written into; and a template that Validate accepts
// renders on this event too. Its seeds, and any failing input the fuzzer saves in
// testdata/fuzz/FuzzTemplate, run with every go test. FuzzTemplateText in
// template_test.go covers one fixed template with every text.
func FuzzTemplate(f *testing.F) {
	for _, seed := range []struct{ template, h string }{
		{`{"a":"{{o.s}}"}`, `"},"evil":{"`},
		{`{"a":"x{{o.s}}y","b":{{o.s}},"c":{{o}},"d":"{{o}}"}`, `\`},
		{`{"a":"{{o.m}}","b":[{{o.m}}, "{{ o.s }}"]}`, "\x00\n\u2028\u2029\"\\/"},
		{`{"a":"\"{{o.s}}\\"}`, `\"`},
		{`{"a":"{{o.s}}\u0022{{o.s}}"}`, `\u0022`},
		{`{ {{o.s}}: "{{order.id}}" }`, `": 1, "b`},
		{`{"amount": {{order.amount}}, "name": "{{customer.name}} <{{customer.email}}>", "tags": {{customer.segments}}}`, "</script>"},
		{`{"x":"{{order.metadata.channel}}{{o.s}}","y":{{missing.path}}}`, "\xff\xfe"},
		{`["{{o.s}}", {{o.m}}, "{{customer}}", {{order.items.0}}]`, `{"a":[1,"]\""]}`},
		{`{"a":"{{o.s}}"}`, strings.Repeat(`\"`, 50)},
		{`{"{{o.s}}":"{{o.s}}"}`, "\\u00"},
		{`{"a":"{{`, ``},
		{`{"a":"{{o..s}}"}`, ``},
		{`{"a":"open}`, ``},
		{`{"a":{{o.s}}}`, `1}, "b": {"c": 2`},
		{`{"a":"\u{{o.m}}0000"}`, `x`},
	} {
		f.Add(seed.template, seed.h)
	}
	f.Fuzz(func(t *testing.T, src, h string) {
		tpl, err := CompileTemplate(src)
		if err != nil {
			return
		}
		hostile, harmless := hostileEvent(h), hostileEvent("x")
		out, _, err := tpl.Render(hostile, nil)
		if err == nil && !json.Valid(out) {
			t.Fatalf("rendered invalid JSON without an error: %q", out)
		}
		ref, _, refErr := tpl.Render(harmless, nil)
		switch {
		case refErr == nil && err != nil:
			t.Fatalf("renders with a harmless string, fails with %q: %v", h, err)
		case refErr == nil:
			if got, want := jsonShape(t, out), jsonShape(t, ref); !slices.Equal(got, want) {
				t.Fatalf("the string %q changed the rendering's shape:\n%s\n%s", h, out, ref)
			}
		}
		if tpl.Validate(SampleEvent("customer.order.paid")) == nil && err != nil {
			t.Fatalf("Validate accepted the template, and it fails on an event: %v", err)
		}
	})
}

// hostileEvent is a sample customer.order.paid event with an object o that carries h.
func hostileEvent(h string) Event {
	ev := SampleEvent("customer.order.paid")
	data := make(map[string]json.RawMessage, len(ev.Data)+1)
	for k, v := range ev.Data {
		data[k] = v
	}
	o, err := json.Marshal(map[string]any{"s": h, "m": map[string]string{h: h}})
	if err != nil {
		panic(err)
	}
	data["o"] = o
	ev.Data = data
	return ev
}

// jsonShape lists the tokens of valid JSON, with every key and scalar replaced by "value":
// two renderings have the same shape when no text broke out of its place.
func jsonShape(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var shape []string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return shape
		}
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		// A scalar is "value" whatever its kind: {{o.m.x}} is a string where h is "x" and
		// null elsewhere, and that is no break-out.
		if d, ok := tok.(json.Delim); ok {
			shape = append(shape, d.String())
		} else {
			shape = append(shape, "value")
		}
	}
}
