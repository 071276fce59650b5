package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// yamlBlocks returns the ```yaml blocks of a Markdown file, in order.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// TestDistributionsDocYAMLApplies: every YAML block of docs/distributions.md is applied
// as written, through the commands a user runs (distributions apply -f, webhooks create
// -f) against the API, and is stored with what it shows: a reader may copy any of them.
// The every-field distribution without its promotion_tier is refused naming it, as the
// doc says.
func TestDistributionsDocYAMLApplies(t *testing.T) {
	const docPath = "../docs/distributions.md"
	blocks := yamlBlocks(t, docPath)
	if len(blocks) < 3 {
		t.Fatalf("%s: %d YAML blocks, want the every-field distribution, the project webhook and publish_code", docPath, len(blocks))
	}
	h, _ := newHarness(t, &api.Server{})
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	everyField := ""
	for i, block := range blocks {
		file := write("block.yaml", block)
		if strings.Contains(block, "\ntrigger:") {
			if out, errOut, err := h.run("distributions", "apply", "-f", file); err != nil || !strings.HasPrefix(out, "created distr_") {
				t.Errorf("%s YAML block %d: distributions apply: %v\n%s%s\n%s", docPath, i+1, err, out, errOut, block)
			}
			if strings.Contains(block, "promotion_tier:") {
				everyField = block
			}
			continue
		}
		if out, errOut, err := h.run("webhooks", "create", "-f", file, "-o", "json"); err != nil {
			t.Errorf("%s YAML block %d: webhooks create: %v\n%s%s\n%s", docPath, i+1, err, out, errOut, block)
		} else if !strings.Contains(out, `"has_secret": true`) {
			t.Errorf("%s YAML block %d: the webhook's secret was not kept:\n%s", docPath, i+1, out)
		}
	}
	if everyField == "" {
		t.Fatalf("%s: no distribution with every field (action.promotion_tier)", docPath)
	}
	out, _, err := h.run("distributions", "list", "-o", "json")
	var listed struct{ Data []map[string]any }
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil {
		t.Fatalf("distributions list: %v\n%s", err, out)
	}
	found := false
	for _, d := range listed.Data {
		if strings.Contains(everyField, "name: "+d["name"].(string)) {
			found = true
			if d["webhook"].(map[string]any)["has_secret"] != true {
				t.Errorf("the every-field distribution's own secret was not kept: %v", d["webhook"])
			}
		}
	}
	if !found {
		t.Errorf("the every-field distribution is not listed:\n%s", out)
	}

	// notify_promotion needs promotion_tier: the doc says so, and the API refuses it by name.
	doc, _ := os.ReadFile(docPath)
	const rule = "`notify_promotion` needs both `action.campaign` and `action.promotion_tier`"
	if !strings.Contains(string(doc), rule) {
		t.Errorf("%s does not say %s", docPath, rule)
	}
	without := regexp.MustCompile(`(?m)^  promotion_tier:.*\n`).ReplaceAllString(everyField, "")
	_, _, err = h.run("distributions", "apply", "--dry-run", "-f", write("without.yaml", without))
	const refusal = "action.promotion_tier: is required: an object such as"
	if err == nil || !strings.Contains(err.Error(), refusal) {
		t.Errorf("notify_promotion without promotion_tier: got %v, want %q", err, refusal)
	}
	if !strings.Contains(string(doc), "`action.promotion_tier: is required: an\nobject such as") {
		t.Errorf("%s does not quote the refusal %q", docPath, refusal)
	}
}
