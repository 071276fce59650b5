package cli

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
)

// TestListCommandsPage: the list commands read a page (--limit, --page-token, and a hint
// on standard error when more follow) or every page (--all); -o jsonl prints every item of
// every page a line; a bad --limit or --page-token is refused naming the flag.
func TestListCommandsPage(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for i := range 5 {
		if err := st.CreateWebhook(t.Context(), distributions.ProjectWebhook{ID: fmt.Sprintf("wh_%d", i), URL: "https://example.com/w", Events: []string{"voucher.created"},
			Active: true, Revision: 1, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, _, err := st.AddNotification(t.Context(), store.Notification{ID: fmt.Sprintf("ntf_%d", i), DeliveryID: fmt.Sprintf("whs_%d", i), Message: "m", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	// Every list command that pages: --all -o jsonl streams every item, a line each.
	for _, c := range []struct {
		command string
		want    int
	}{{"webhooks", 5}, {"notifications", 3}, {"distributions", 0}, {"keys", 0}, {"messages", 0}, {"programs", 0}} {
		out, _, err := h.run(c.command, "list", "--all", "--limit", "1", "-o", "jsonl")
		if lines := strings.Count(out, "\n"); err != nil || lines != c.want {
			t.Errorf("%s list --all --limit 1 -o jsonl: %d lines, %v; want %d", c.command, lines, err, c.want)
		}
	}

	out, _, err := h.run("webhooks", "list", "--all", "--limit", "2", "-o", "jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var w struct{ ID string }
		if err := json.Unmarshal([]byte(line), &w); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, w.ID)
	}
	if got := strings.Join(ids, " "); got != "wh_0 wh_1 wh_2 wh_3 wh_4" {
		t.Errorf("--all -o jsonl across pages of 2: %s; want every webhook once, in order", got)
	}

	out, stderr, err := h.run("webhooks", "list", "--limit", "2")
	if err != nil || strings.Count(out, "wh_") != 2 || !strings.Contains(stderr, "--page-token ") {
		t.Fatalf("one page: %q %q %v; want 2 rows and the token of the next page", out, stderr, err)
	}
	token := strings.Fields(stderr[strings.Index(stderr, "--page-token ")+len("--page-token "):])[0]
	out, _, err = h.run("webhooks", "list", "--limit", "2", "--page-token", token)
	if err != nil || !strings.Contains(out, "wh_2") || !strings.Contains(out, "wh_3") || strings.Contains(out, "wh_0") {
		t.Errorf("the next page: %q %v; want wh_2 and wh_3", out, err)
	}
	out, _, err = h.run("webhooks", "list", "--all", "--limit", "2", "-o", "json")
	var l api.List[json.RawMessage]
	if err != nil || json.Unmarshal([]byte(out), &l) != nil || len(l.Data) != 5 || l.HasMore {
		t.Errorf("--all -o json: %q %v; want one list of 5", out, err)
	}

	for _, bad := range []struct {
		args []string
		flag string
	}{
		{[]string{"--limit", "0"}, "--limit"},
		{[]string{"--limit", "1001"}, "--limit"},
		{[]string{"--page-token", "nonsense!"}, "--page-token"},
	} {
		if _, _, err := h.run(append([]string{"webhooks", "list"}, bad.args...)...); err == nil || !strings.HasPrefix(err.Error(), bad.flag) {
			t.Errorf("%v: %v; want an error naming %s", bad.args, err, bad.flag)
		}
	}

	// The tables' times carry their zone.
	if _, _, err := h.run("keys", "create", "--name", "ops", "--scope", "manage"); err != nil {
		t.Fatal(err)
	}
	out, _, err = h.run("keys", "list")
	if err != nil || !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (Z|[+-]\d\d:\d\d)`).MatchString(out) {
		t.Errorf("keys list: %q %v; want a time with its zone", out, err)
	}
}
