package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// Output formats of -o.
const (
	formatText  = "text"
	formatJSON  = "json"
	formatJSONL = "jsonl"
	formatYAML  = "yaml"
)

var formats = []string{formatText, formatJSON, formatJSONL, formatYAML}

// printer prints what a command has to show in the format of -o. Every format but text
// goes through JSON, as the API sent it or as the value marshals, so numbers keep the
// digits they have (nothing passes through float64) and keys their order.
type printer struct {
	format string
	out    io.Writer
}

// print prints v: with -o text by calling text, otherwise v as indented JSON (json), one
// line of JSON a list item or, for anything else, one line (jsonl), or YAML (yaml).
func (p printer) print(v any, text func(w io.Writer) error) error {
	if p.format == formatText || p.format == "" {
		return text(p.out)
	}
	return p.data(v)
}

// data prints v in the format of -o, JSON for text.
func (p printer) data(v any) error {
	raw, err := marshal(v)
	if err != nil {
		return err
	}
	switch p.format {
	case formatJSONL:
		return writeJSONLines(p.out, raw)
	case formatYAML:
		return writeYAML(p.out, raw)
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err = p.out.Write(b.Bytes())
	return err
}

// marshal is v as compact JSON without HTML escaping; v itself when it is JSON already.
func marshal(v any) ([]byte, error) {
	switch v := v.(type) {
	case json.RawMessage:
		return compact(v)
	case []byte:
		return compact(v)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func compact(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("the API answered what is not JSON: %w", err)
	}
	return b.Bytes(), nil
}

// writeJSONLines writes a list answer ({"object":"list","data":[...]}) an item a line, and
// any other value on one line.
func writeJSONLines(w io.Writer, raw []byte) error {
	var l struct {
		Object string            `json:"object"`
		Data   []json.RawMessage `json:"data"`
	}
	items := []json.RawMessage{raw}
	if json.Unmarshal(raw, &l) == nil && l.Object == "list" {
		items = l.Data
	}
	var b bytes.Buffer
	for _, item := range items {
		b.Write(item)
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeYAML writes JSON as YAML: objects as mappings in their keys' order, numbers with
// the digits the JSON has, strings quoted where YAML would read them as something else.
func writeYAML(w io.Writer, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	node, err := yamlNode(dec)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return err
	}
	return enc.Close()
}

// yamlNode reads one JSON value from dec as a YAML node.
func yamlNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if t == '[' {
			n = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				key, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key.(string)})
			}
			item, err := yamlNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, item)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(t.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, errors.New("unexpected JSON token")
}

// printTable prints items in aligned columns under header (columns separated by tabs), a
// row an item.
func printTable[T any](w io.Writer, header string, items []T, row func(T) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, item := range items {
		fmt.Fprintln(tw, row(item))
	}
	return tw.Flush()
}

// isText says whether -o asks for text, which each command writes its own way.
func (p printer) isText() bool { return p.format == formatText || p.format == "" }

// tableTime is how the text tables show a time: local, to the second, with its zone (the
// offset, Z for UTC), so that a time copied from a table means one instant anywhere.
const tableTime = "2006-01-02 15:04:05 Z07:00"
