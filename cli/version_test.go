package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestVersionOutput runs `hookflow version` in-process in every format: hookflow's version
// (dev unless main sets it) and Go's. The Temporal modules' versions are read from the
// build info, which only a built binary carries: the end-to-end TestVersion checks them.
func TestVersionOutput(t *testing.T) {
	h := &harness{t: t}
	text, _, err := h.run("version")
	if err != nil || !strings.HasPrefix(text, "hookflow dev\n") || !strings.Contains(text, "Go               go1.") {
		t.Errorf("hookflow version: %v\n%s", err, text)
	}
	out, _, err := h.run("version", "-o", "json")
	var v versionInfo
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Version != "dev" || !strings.HasPrefix(v.Go, "go1.") {
		t.Errorf("hookflow version -o json: %v\n%s", err, out)
	}
	out, _, err = h.run("version", "-o", "yaml")
	var y map[string]any
	if err != nil || yaml.Unmarshal([]byte(out), &y) != nil || y["version"] != "dev" {
		t.Errorf("hookflow version -o yaml: %v\n%s", err, out)
	}
	if _, _, err := h.run("version", "-o", "xml"); err == nil || !strings.Contains(err.Error(), `--output "xml"`) {
		t.Errorf("-o xml: %v", err)
	}
}
