package payloads

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// FieldProblem is a key of a JSON input that the type it is read into does not have, or
// whose value that type refuses.
type FieldProblem struct {
	// Path is the key with its parents, such as "trigger.event" or "webhook.headers[0].nme".
	Path string
	// Key is the key itself, the last part of Path.
	Key string
	// Known are, for an unknown key, the fields its parent has, for the error to say what
	// was meant.
	Known []string
	// Err is, for a known key, why its value's type (a json.Unmarshaler, such as a
	// duration) refused it; nil for an unknown key.
	Err error
}

// FieldProblems lists every key of the JSON document body that v's type has no field for
// (by json tag, matched as encoding/json matches them), and every value a type that reads
// itself (json.Unmarshaler) refuses, each with its path, ordered by path.
// json.Decoder.DisallowUnknownFields stops at the first unknown key and names it without
// its parents, and an UnmarshalJSON error comes without a field at all; a user fixing a
// file wants all of them, where they are. json.RawMessage, time.Time and maps of any are
// not looked into. Malformed JSON yields none: the decoder reports it.
func FieldProblems(body []byte, v any) []FieldProblem {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers given to an UnmarshalJSON keep their digits
	var doc any
	if dec.Decode(&doc) != nil {
		return nil
	}
	var out []FieldProblem
	walkFields(doc, reflect.TypeOf(v), "", "", &out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func walkFields(doc any, t reflect.Type, path, key string, out *[]FieldProblem) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if doc == nil || path == "" {
			return // null leaves a value as it is; the whole document is the decoder's
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return
		}
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			*out = append(*out, FieldProblem{Path: path, Key: key, Err: err})
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return
		}
		fields := jsonFields(t)
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		for key, val := range obj {
			ft, ok := fields[key]
			if !ok {
				// encoding/json takes a key that differs from the tag only in case.
				for name, t := range fields {
					if strings.EqualFold(name, key) {
						ft, ok = t, true
						break
					}
				}
			}
			if !ok {
				*out = append(*out, FieldProblem{Path: joinPath(path, key), Key: key, Known: names})
				continue
			}
			walkFields(val, ft, joinPath(path, key), key, out)
		}
	case reflect.Map:
		obj, ok := doc.(map[string]any)
		if !ok {
			return
		}
		for key, val := range obj {
			walkFields(val, t.Elem(), joinPath(path, key), key, out)
		}
	case reflect.Slice, reflect.Array:
		list, ok := doc.([]any)
		if !ok {
			return
		}
		for i, val := range list {
			walkFields(val, t.Elem(), path+"["+strconv.Itoa(i)+"]", key, out)
		}
	}
}

// jsonFields maps the JSON names of t's fields, those of embedded structs included, to
// their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for n, ft := range jsonFields(et) {
					if _, ok := fields[n]; !ok {
						fields[n] = ft
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// Nearest returns the candidates closest to word by edit distance (those as close as the
// closest, at most max of them), leaving out those too far to be a slip (more than a third of the word's
// length, at least 2). It is how an error about a mistyped name says what was meant.
func Nearest(word string, candidates []string, max int) []string {
	type scored struct {
		name string
		dist int
	}
	limit := len(word) / 3
	if limit < 2 {
		limit = 2
	}
	var near []scored
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		// A word that is the start or a part of a known name (loyal, order.paid) is meant
		// as it, however far the spelling.
		if d <= limit || (len(word) >= 3 && strings.Contains(c, word)) {
			near = append(near, scored{c, d})
		}
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].dist < near[j].dist })
	var out []string
	for _, s := range near {
		// Only the closest: a second name as far again is noise.
		if len(out) == max || s.dist > near[0].dist {
			break
		}
		out = append(out, s.name)
	}
	return out
}

// editDistance is the Levenshtein distance of a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
