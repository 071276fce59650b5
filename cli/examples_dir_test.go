package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// TestExamplesApply: the files under examples/, which the README's tour uses, are what the
// commands take: each distribution file applies (distributions apply -f) and each code
// list imports into the campaign the README names (codes import). The customer files are
// parsed by api's TestExampleFiles; any other kind of file is an error here, so that a
// new example is checked too.
func TestExamplesApply(t *testing.T) {
	files, err := filepath.Glob("../examples/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newHarness(t, &api.Server{})
	for _, file := range files {
		if name := "examples/" + filepath.Base(file); !strings.Contains(string(readme), name) {
			t.Errorf("the README does not use %s", name)
		}
		switch filepath.Ext(file) {
		case ".yaml":
			if out, _, err := h.run("distributions", "apply", "-f", file); err != nil || !strings.HasPrefix(out, "created distr_") {
				t.Errorf("distributions apply -f %s: %v\n%s", file, err, out)
			}
		case ".txt":
			raw, _ := os.ReadFile(file)
			lines := strings.Count(strings.TrimSpace(string(raw)), "\n") + 1
			out, _, err := h.run("codes", "import", "camp_spring", "-f", file)
			if want := "imported " + strconv.Itoa(lines) + " code(s) into campaign camp_spring, 0 duplicate(s) skipped"; err != nil || !strings.Contains(out, want) {
				t.Errorf("codes import %s: %v\n%s\nwant %q", file, err, out, want)
			}
		case ".csv":
		default:
			t.Errorf("%s: no check for this kind of example", file)
		}
	}
}
