package api

import (
	"context"
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
	if status, _, _ := do(t, "PATCH", srv.URL+"/v1/events", ""); status != 405 && status != 404 {
		t.Errorf("wrong method: %d", status)
	}
}
