package app

import "testing"

// TestKeysCreateHint: the banner's command for the first API key names --api when the API
// does not listen where the CLI looks by default, so that it can be pasted as it is.
func TestKeysCreateHint(t *testing.T) {
	const hint = "hookflow keys create --name ops --scope manage"
	for listen, want := range map[string]string{
		DefaultAPIAddr:   hint,
		"0.0.0.0:7280":   hint,
		"127.0.0.1:8080": hint + " --api http://127.0.0.1:8080",
		"[::]:9000":      hint + " --api http://127.0.0.1:9000",
		"[::1]:7280":     hint + " --api http://[::1]:7280",
	} {
		if got := keysCreateHint(listen); got != want {
			t.Errorf("listening on %s: %q, want %q", listen, got, want)
		}
	}
}
