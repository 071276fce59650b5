package api

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/store"
)

// TestSettingsSayWhetherEmailCanGoOut: the notification settings tell whether an SMTP
// server is configured, and what GET answered can be PUT back as it is.
func TestSettingsSayWhetherEmailCanGoOut(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	no := false
	srv := httptest.NewServer((&Server{Store: st, EmailConfigured: &no}).Handler())
	t.Cleanup(srv.Close)
	status, _, body := do(t, "GET", srv.URL+"/v1/settings/notifications", "")
	if status != 200 || !strings.Contains(string(body), `"email_configured":false`) {
		t.Fatalf("get: %d %s", status, body)
	}
	back := strings.Replace(string(body), `"distributions":{"email":false,"recipients":[]`, `"distributions":{"email":true,"recipients":["ops@example.com"]`, 1)
	status, _, body = do(t, "PUT", srv.URL+"/v1/settings/notifications", back)
	if status != 200 || !strings.Contains(string(body), `"email_configured":false`) || !strings.Contains(string(body), `"email":true`) {
		t.Errorf("put what get answered: %d %s", status, body)
	}
}
