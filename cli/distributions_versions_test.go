package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// TestUpdateKeepsTheFilesVersion: update -f and apply -f of a file read at a version that is
// no longer current are refused with 409, naming the version and saying to get it again,
// and write nothing; a file that changes nothing makes no new version.
func TestUpdateKeepsTheFilesVersion(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	out, _, err := h.run("distributions", "create", "--name", "Paid", "--events", "customer.order.paid", "--url", "https://example.com/h", "--event-name", "e")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(out)[2]
	yamlAt1, _, err := h.run("distributions", "get", id, "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	version := func() int {
		d, err := st.GetDistribution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return d.Version
	}

	same := write("same.yaml", yamlAt1)
	if out, _, err := h.run("distributions", "update", id, "-f", same); err != nil || out != "distribution "+id+" unchanged (version 1)\n" {
		t.Errorf("update with what get printed: %q %v", out, err)
	}
	if out, _, err := h.run("distributions", "apply", "-f", same); err != nil || out != "unchanged "+id+" \"Paid\"\n" {
		t.Errorf("apply of what get printed: %q %v", out, err)
	}
	if v := version(); v != 1 {
		t.Errorf("version %d after updates that changed nothing", v)
	}

	renamed := write("renamed.yaml", strings.Replace(yamlAt1, "name: Paid", "name: Renamed", 1))
	if out, _, err := h.run("distributions", "update", id, "-f", renamed); err != nil || out != "updated distribution "+id+" (version 2)\n" {
		t.Fatalf("update: %q %v", out, err)
	}
	// Another edit of the file read at version 1: stale.
	stale := write("stale.yaml", strings.Replace(yamlAt1, "name: Paid", "name: Lost", 1))
	if _, _, err := h.run("distributions", "update", id, "-f", stale); err == nil || !strings.Contains(err.Error(), "409 conflict") ||
		!strings.Contains(err.Error(), "changed since version 1") || !strings.Contains(err.Error(), "get it again with `hookflow distributions get "+id+" -o yaml`") {
		t.Errorf("update of a stale file: %v", err)
	}
	if _, _, err := h.run("distributions", "apply", "-f", stale); err == nil || !strings.Contains(err.Error(), `document 1 ("Lost"): version: distribution `+id+" changed since version 1") ||
		!strings.Contains(err.Error(), "get the new version") {
		t.Errorf("apply of a stale file: %v", err)
	}
	if d, _ := st.GetDistribution(context.Background(), id); d.Version != 2 || d.Name != "Renamed" {
		t.Errorf("a stale file was written: version %d, name %q", d.Version, d.Name)
	}
}

// TestApplyByName: a document without an id stands for the distribution of its name:
// applying it twice leaves one distribution, a change to it updates that one, and a name
// that two distributions share is refused.
func TestApplyByName(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	promo := "name: Manual promo\ntrigger: {events: [customer.order.paid]}\nwebhook: {event_name: e, url: 'https://example.com/promo'}\n"
	file := writeApplyFile(t, promo)
	out, _, err := h.run("distributions", "apply", "-f", file)
	if err != nil || !strings.HasPrefix(out, "created distr_") {
		t.Fatalf("first apply: %q %v", out, err)
	}
	id := strings.Fields(out)[1]
	if out, _, err := h.run("distributions", "apply", "-f", file); err != nil || out != "unchanged "+id+" \"Manual promo\"\n" {
		t.Errorf("second apply: %q %v", out, err)
	}
	if out, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, promo+"status: paused")); err != nil || out != "updated "+id+" \"Manual promo\" (version 2): status\n" {
		t.Errorf("apply of a change: %q %v", out, err)
	}
	ds, _ := st.ListDistributions(context.Background())
	if len(ds) != 1 || ds[0].ID != id || ds[0].Status != "paused" {
		t.Errorf("stored %+v", ds)
	}

	if _, _, err := h.run("distributions", "create", "--name", "Manual promo", "--events", "customer.order.paid", "--url", "https://example.com/h", "--event-name", "e"); err != nil {
		t.Fatal(err)
	}
	before := storedDistributions(t, st)
	if _, _, err := h.run("distributions", "apply", "-f", file); err == nil || !strings.Contains(err.Error(), `document 1 ("Manual promo"): name: 2 distributions are named "Manual promo"`) ||
		!strings.Contains(err.Error(), "give the document the id") {
		t.Errorf("apply of a name two distributions share: %v", err)
	}
	twice := writeApplyFile(t, applyDoc("Spring"), applyDoc("Spring"))
	if _, _, err := h.run("distributions", "apply", "-f", twice); err == nil || !strings.Contains(err.Error(), `name: 2 documents without an id are named "Spring"`) {
		t.Errorf("apply of two documents of one name: %v", err)
	}
	if got := storedDistributions(t, st); got != before {
		t.Errorf("a refused apply changed the store")
	}
}
