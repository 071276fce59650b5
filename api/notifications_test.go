package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/store"
)

func TestNotificationsAndRoutes(t *testing.T) {
	srv, _, st := newAPI(t)
	ctx := context.Background()
	if _, _, err := st.AddNotification(ctx, store.Notification{ID: "ntf_1", DeliveryID: "whs_1", Message: "m", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if status, _, b := do(t, "GET", srv.URL+"/v1/notifications?unread=true", ""); status != 200 || !strings.Contains(string(b), `"total":1`) {
		t.Errorf("unread: %d %s", status, b)
	}
	if status, _, b := do(t, "POST", srv.URL+"/v1/notifications/ntf_1/read", ""); status != 200 || !strings.Contains(string(b), `"read_at":"`) {
		t.Errorf("read: %d %s", status, b)
	}
	if status, _, b := do(t, "GET", srv.URL+"/v1/notifications?unread=true", ""); status != 200 || !strings.Contains(string(b), `"total":0`) {
		t.Errorf("unread after read: %d %s", status, b)
	}
	if status, _, b := do(t, "GET", srv.URL+"/v1/notifications", ""); status != 200 || !strings.Contains(string(b), `"total":1`) {
		t.Errorf("all: %d %s", status, b)
	}
	if status, e, _ := do(t, "GET", srv.URL+"/v1/notifications?unread=maybe", ""); status != 400 || e.Field != "unread" {
		t.Errorf("unread=maybe: %d %+v", status, e)
	}
	if status, _, _ := do(t, "POST", srv.URL+"/v1/notifications/ntf_nope/read", ""); status != 404 {
		t.Errorf("read missing: %d", status)
	}
	if status, _, _ := do(t, "GET", srv.URL+"/v2/everything", ""); status != 404 {
		t.Errorf("unknown route: %d", status)
	}
	// A wrong method on a known path is a 405 naming the methods the path takes, never the
	// catch-all 404 (TestWrongMethod checks every path of the table).
	req, err := http.NewRequest("PATCH", srv.URL+"/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("wrong method: %d, Allow %q; want 405, Allow \"POST\"", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
