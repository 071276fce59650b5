package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// TestOutputHonoured: distributions apply and health print their result in the format of
// -o; with -o json an error is one line of JSON on standard error, with the API's status
// and field, or the usage apart.
func TestOutputHonoured(t *testing.T) {
	h, _ := newHarness(t, &api.Server{})
	file := writeApplyFile(t, applyDoc("One"), applyDoc("Two"))
	out, _, err := h.run("distributions", "apply", "-f", file, "--dry-run", "-o", "json")
	var l struct {
		Object string        `json:"object"`
		Data   []applyResult `json:"data"`
	}
	if err != nil || json.Unmarshal([]byte(out), &l) != nil || len(l.Data) != 2 || l.Data[0].Action != "create" || !l.Data[0].DryRun {
		t.Errorf("apply --dry-run -o json: %v\n%s", err, out)
	}
	out, _, err = h.run("distributions", "apply", "-f", file, "-o", "jsonl")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first applyResult
	if err != nil || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Action != "create" || !strings.HasPrefix(first.ID, "distr_") || first.Name != "One" {
		t.Errorf("apply -o jsonl: %v\n%s", err, out)
	}
	if out, _, err := h.run("distributions", "apply", "-f", file, "-o", "yaml"); err != nil || !strings.Contains(out, "action: unchanged") {
		t.Errorf("apply -o yaml: %v\n%s", err, out)
	}

	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	t.Cleanup(ready.Close)
	out, _, err = h.run("health", ready.URL+"/readyz", "-o", "json")
	var health struct {
		Healthy bool `json:"healthy"`
		Status  int  `json:"status"`
	}
	if err != nil || json.Unmarshal([]byte(out), &health) != nil || !health.Healthy || health.Status != 200 {
		t.Errorf("health -o json: %v\n%s", err, out)
	}

	// Errors: as the process prints them (Main), through run and writeError.
	for _, tc := range []struct {
		args []string
		want map[string]any
	}{
		{[]string{"distributions", "get", "distr_missing"}, map[string]any{"status": 404.0, "type": "not_found"}},
		{[]string{"distributions", "get"}, map[string]any{"message": "missing ID: hookflow distributions get ID"}},
	} {
		var stdout, stderr bytes.Buffer
		args := append(tc.args, "-o", "json", "--api", h.api)
		format, err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if err == nil {
			t.Fatalf("%q: no error", args)
		}
		writeError(&stderr, format, err)
		var e struct {
			Error map[string]any `json:"error"`
		}
		if json.Unmarshal(stderr.Bytes(), &e) != nil || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%q -o json: the error is not one line of JSON: %s", args, stderr.String())
			continue
		}
		for k, v := range tc.want {
			if e.Error[k] != v {
				t.Errorf("%q -o json: error.%s = %v, want %v (%s)", args, k, e.Error[k], v, stderr.String())
			}
		}
	}
	var stderr bytes.Buffer
	writeError(&stderr, formatText, &apiError{status: 404, detail: api.ErrorDetail{Type: "not_found", Message: "no distribution"}})
	if stderr.String() != "hookflow: 404 not_found: no distribution\n" {
		t.Errorf("-o text error: %q", stderr.String())
	}
}
