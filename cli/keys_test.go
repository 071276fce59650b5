package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// TestKeysCommand makes the first key without a key (over loopback), then a second one
// with it, lists them and revokes one, as a user would.
func TestKeysCommand(t *testing.T) {
	h, st := newHarness(t, &api.Server{RequireKeys: true})
	output := "text"
	run := func(key string, args ...string) (string, string, error) {
		return h.run(append([]string{"keys"}, append(args, "--api-key", key, "-o", output)...)...)
	}

	out, info, err := run("", "create", "--name", "ops", "--scope", "manage")
	manager := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(manager, store.APIKeyPrefix) || strings.Contains(manager, "\n") {
		t.Fatalf("first key: %q %q %v", out, info, err)
	}
	if !strings.Contains(info, "not shown again") {
		t.Errorf("no warning that the key is shown once: %q", info)
	}
	if _, _, err := run("", "create", "--name", "second", "--scope", "manage"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("second key without a key: %v", err)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--scope", "events"}, "--name is required"},
		{[]string{"create", "--name", "x"}, "--scope is required"},
		{[]string{"create", "--name", "x", "--scope", "admin"}, `--scope "admin": use events, manage or codec`},
		{[]string{"create", "--name", "x", "--scope", "codec,Manage"}, `--scope "Manage": use events, manage or codec`},
	} {
		if _, _, err := run(manager, bad.args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want it to say %q", bad.args, err, bad.want)
		}
	}
	output = "json"
	out, _, err = run(manager, "create", "--name", "json", "--scope", "events")
	output = "text"
	var created api.CreatedKey
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || !strings.HasPrefix(created.Key, store.APIKeyPrefix) || created.ID == "" {
		t.Errorf("-o json: %v\n%s", err, out)
	}
	sender, _, err := run(manager, "create", "--name", "shop backend", "--scope", "events,manage", "--scope", "events")
	sender = strings.TrimSpace(sender)
	if err != nil || !strings.HasPrefix(sender, store.APIKeyPrefix) {
		t.Fatalf("second key: %q %v", sender, err)
	}
	proxy, _, err := run(manager, "create", "--name", "web ui proxy", "--scope", "codec")
	if proxy = strings.TrimSpace(proxy); err != nil || !strings.HasPrefix(proxy, store.APIKeyPrefix) {
		t.Fatalf("codec key: %q %v", proxy, err)
	}
	if _, _, err := run(proxy, "list"); err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "needs the manage scope") {
		t.Errorf("a codec key lists keys: %v", err)
	}
	out, _, err = run(manager, "list")
	if err != nil || !strings.Contains(out, "web ui proxy") || !strings.Contains(out, "codec") || !strings.Contains(out, "shop backend") || !strings.Contains(out, sender[:len(store.APIKeyPrefix)+6]+"...") ||
		!strings.Contains(out, "events,manage") || strings.Contains(out, sender) || strings.Contains(out, manager) {
		t.Errorf("list: %v\n%s", err, out)
	}
	k, err := st.APIKeyByHash(t.Context(), store.HashAPIKey(sender))
	if err != nil {
		t.Fatal(err)
	}
	if out, _, err := run(sender, "revoke", k.ID); err != nil || !strings.Contains(out, k.ID) {
		t.Errorf("revoke: %q %v", out, err)
	}
	if _, _, err := run(sender, "list"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a revoked key still lists: %v", err)
	}
}
