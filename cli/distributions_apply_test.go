package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// applyDoc is a valid distribution document named name; more is added to it (YAML lines).
func applyDoc(name string, more ...string) string {
	return "name: " + name + "\ntrigger: {events: [customer.order.paid]}\nwebhook: {event_name: e, url: 'https://example.com/" + name + "'}\n" + strings.Join(more, "\n")
}

func writeApplyFile(t *testing.T, docs ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "distributions.yaml")
	if err := os.WriteFile(file, []byte(strings.Join(docs, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// storedDistributions is the store's distributions as JSON, to compare before and after.
func storedDistributions(t *testing.T, st *store.SQLite) string {
	t.Helper()
	ds, err := st.ListDistributions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ds)
	return string(b)
}

// TestApplyChecksEveryDocumentFirst: a file whose third document is not valid applies
// nothing, and the error names document 3 and its field.
func TestApplyChecksEveryDocumentFirst(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	file := writeApplyFile(t, applyDoc("First"), applyDoc("Second"),
		"name: Third\ntrigger: {events: [customer.order.paid]}\nwebhook: {event_name: e, url: 'ftp://example.com/'}")
	stdout, _, err := h.run("distributions", "apply", "-f", file)
	if err == nil || !strings.Contains(err.Error(), `document 3 ("Third"): webhook.url: `) || !strings.Contains(err.Error(), "nothing was applied") {
		t.Errorf("apply of a file with an invalid third document: %v", err)
	}
	if err != nil && (strings.Contains(err.Error(), "document 1") || strings.Contains(err.Error(), "document 2")) {
		t.Errorf("the error blames a valid document: %v", err)
	}
	if stdout != "" {
		t.Errorf("apply printed %q", stdout)
	}
	if got := storedDistributions(t, st); got != "[]" {
		t.Errorf("a refused apply stored %s", got)
	}
}

// TestApplyDryRunListsEveryProblem: --dry-run lists the problems of every document, by
// document number, name and field path, shows what the valid ones would do, and changes
// nothing.
func TestApplyDryRunListsEveryProblem(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	out, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, applyDoc("Existing")))
	if err != nil || !strings.HasPrefix(out, "created distr_") {
		t.Fatalf("apply: %q %v", out, err)
	}
	id := strings.Fields(out)[1]
	before := storedDistributions(t, st)

	file := writeApplyFile(t,
		"name: Bad events\ntrigger: {events: [order.exploded]}\nwebhook: {event_name: e, url: 'https://example.com/'}",
		applyDoc("Fine"),
		"id: "+id+"\nname: Existing\ntrigger: {events: [customer.order.paid], filter: 'data.order.amount >'}\nwebhook: {event_name: e, url: 'gopher://example.com/'}",
		applyDoc("Colourful", "colour: red"),
		applyDoc("Lost", "id: distr_missing"),
	)
	stdout, _, err := h.run("distributions", "apply", "-f", file, "--dry-run")
	if err == nil {
		t.Fatal("a dry run of a file with problems succeeded")
	}
	for _, want := range []string{
		"4 of 5 documents are not valid",
		`document 1 ("Bad events"): trigger.events[0]: `,
		`document 3 ("Existing"): trigger.filter: `,
		`document 3 ("Existing"): webhook.url: `,
		`document 4 ("Colourful"): colour: unknown field`,
		`document 5 ("Lost"): id: `,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the dry run's error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "document 2") {
		t.Errorf("the dry run blames the valid document 2:\n%v", err)
	}
	if stdout != "would create \"Fine\"\n" {
		t.Errorf("dry run printed %q, want what document 2 would do", stdout)
	}
	if got := storedDistributions(t, st); got != before {
		t.Errorf("the dry run changed the store:\n%s\nwas\n%s", got, before)
	}
}

// TestApplyAllValid: a file of valid documents creates and updates every one, and its dry
// run says so first without changing anything.
func TestApplyAllValid(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	out, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, applyDoc("Existing")))
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(out)[1]
	file := writeApplyFile(t, applyDoc("One"), applyDoc("Existing", "id: "+id, "status: paused"), applyDoc("Two"))
	before := storedDistributions(t, st)
	stdout, _, err := h.run("distributions", "apply", "-f", file, "--dry-run")
	// The update lists status, and also the fields the file leaves to their defaults.
	if err != nil || !strings.HasPrefix(stdout, "would create \"One\"\nwould update "+id+" \"Existing\": ") || !strings.Contains(stdout, "status") || !strings.HasSuffix(stdout, "\nwould create \"Two\"\n") {
		t.Errorf("dry run: %q %v", stdout, err)
	}
	if got := storedDistributions(t, st); got != before {
		t.Errorf("the dry run changed the store")
	}
	stdout, _, err = h.run("distributions", "apply", "-f", file)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[0], "created distr_") || !strings.HasPrefix(lines[1], "updated "+id+" \"Existing\" (version 2): ") || !strings.HasPrefix(lines[2], "created distr_") {
		t.Fatalf("apply: %q %v", stdout, err)
	}
	ds, _ := st.ListDistributions(context.Background())
	if len(ds) != 3 || ds[0].ID != id || ds[0].Status != "paused" || ds[1].Name != "One" || ds[2].Name != "Two" {
		t.Errorf("stored %+v", ds)
	}
}

// TestApplyRateLimit: webhook.rate_limit in an apply file is stored, changed by a second
// apply, and a malformed one is refused naming its document and field, applying nothing.
func TestApplyRateLimit(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	limited := func(rate string) string {
		return "name: Limited\ntrigger: {events: [customer.order.paid]}\nwebhook: {event_name: e, url: 'https://example.com/l', rate_limit: '" + rate + "'}"
	}
	out, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, limited("10/s")))
	if err != nil || !strings.HasPrefix(out, "created distr_") {
		t.Fatalf("apply: %q %v", out, err)
	}
	id := strings.Fields(out)[1]
	if ds, _ := st.ListDistributions(context.Background()); len(ds) != 1 || ds[0].Webhook.RateLimit != "10/s" {
		t.Fatalf("stored %+v, want rate_limit 10/s", ds)
	}
	if _, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, "id: "+id+"\n"+limited("600/m"))); err != nil {
		t.Fatal(err)
	}
	before := storedDistributions(t, st)
	if !strings.Contains(before, `"rate_limit":"600/m"`) {
		t.Fatalf("after the second apply: %s", before)
	}
	for _, bad := range []string{"10/d", "lots", "0/s", "1e3/s"} {
		_, _, err := h.run("distributions", "apply", "-f", writeApplyFile(t, applyDoc("Fine"), limited(bad)))
		if err == nil || !strings.Contains(err.Error(), `document 2 ("Limited"): webhook.rate_limit: `) {
			t.Errorf("apply of rate_limit %q: %v", bad, err)
		}
	}
	if got := storedDistributions(t, st); got != before {
		t.Errorf("a refused apply changed the store:\n%s\nwas\n%s", got, before)
	}
}
