package api

import (
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow/store"
)

// The in-app notifications: the operator's notices of deliveries that failed for good,
// listed (all or unread) and marked read. Whether they are made, and who also gets them by
// e-mail, is set in settings.go.

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) {
	unread := false
	switch v := r.URL.Query().Get("unread"); v {
	case "", "false", "0":
	case "true", "1":
		unread = true
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unread: %q is not true or false", v), "unread")
		return
	}
	p, ok := pageQuery(w, r)
	if !ok {
		return
	}
	page, err := s.Store.PageNotifications(r.Context(), unread, p)
	writePage(s, w, "notifications", page, err, func(n store.Notification) store.Notification { return n })
}

func (s *Server) readNotification(w http.ResponseWriter, r *http.Request) {
	n, err := s.Store.MarkNotificationRead(r.Context(), r.PathValue("id"), s.now())
	if s.failed(w, err, "read notification", r.PathValue("id")) {
		return
	}
	writeJSON(w, http.StatusOK, n)
}
