package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/distributions"
)

// durationValue is a duration flag read by distributions.ParseDuration, so that every
// duration, flag or field, takes the same units (d for days among them).
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	d, err := distributions.ParseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (durationValue) Type() string { return "duration" }

// durationVar defines a duration flag as pflag's DurationVar does, read as every duration
// is (durationValue).
func durationVar(f *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	f.Var(durationValue{p}, name, usage)
}

// checkDurationFlag checks the value of a duration flag that is sent on as text, so that
// the error names the flag and the form before the API is asked.
func checkDurationFlag(flag, v string) error {
	if v == "" {
		return nil
	}
	if _, err := distributions.ParseDuration(v); err != nil {
		return fmt.Errorf("--%s: %v", flag, err)
	}
	return nil
}

// checkURLFlag refuses a URL flag without a scheme, the slip of 127.0.0.1:9000/hooks, and
// says what to write.
func checkURLFlag(flag, v string) error {
	if v == "" || strings.Contains(v, "://") {
		return nil
	}
	return fmt.Errorf("--%s %q: add the scheme, such as http://%s", flag, v, strings.TrimPrefix(v, "//"))
}

// checkJSONFlag refuses a flag's value that is not JSON, saying where it breaks (line,
// column and byte) and what was found there, as an editor would point at it.
func checkJSONFlag(flag string, raw []byte) error {
	var v any
	err := json.Unmarshal(raw, &v)
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		return fmt.Errorf("--%s: not valid JSON: %v", flag, err)
	}
	offset := int(syntax.Offset)
	if strings.Contains(err.Error(), "unexpected end of JSON input") {
		offset = len(bytes.TrimRight(raw, " \t\r\n")) + 1 // where the missing part goes
	}
	line, col := 1, 1
	for _, b := range raw[:min(max(offset-1, 0), len(raw))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	what := strings.TrimPrefix(err.Error(), "json: ")
	if strings.Contains(what, "unexpected end of JSON input") {
		what = "it ends before the value is complete (a closing } or ], or a value, is missing)"
	}
	return fmt.Errorf("--%s: not valid JSON at line %d, column %d (byte %d): %s", flag, line, col, offset, what)
}
