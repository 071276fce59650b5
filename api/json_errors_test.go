package api

import (
	"net/http"
	"strings"
	"testing"
)

// TestMalformedJSONSaysWhere: every route that reads a JSON body answers malformed JSON
// with 400 and where the fault is: the byte, and the line and column an editor shows.
func TestMalformedJSONSaysWhere(t *testing.T) {
	a := newMessagesAPI(t)
	// The fault is the x: byte 15, on line 2 at column 13.
	const broken = "{\n  \"codes\": [x]\n}"
	const where = "invalid JSON at byte 15 (line 2, column 13)"
	for _, route := range []struct{ method, path string }{
		{http.MethodPost, "/v1/events"},
		{http.MethodPost, "/v1/distributions"},
		{http.MethodPost, "/v1/distributions?dry_run=true"},
		{http.MethodPost, "/v1/webhooks"},
		{http.MethodPost, "/v1/distributions/distr_manual/messages"},
		{http.MethodPost, "/v1/campaigns/camp_1/codes"},
		{http.MethodPost, "/v1/keys"},
	} {
		contentType := "application/json"
		status, detail, body := doWith(t, route.method, a.srv.URL+route.path, contentType, broken)
		if status != http.StatusBadRequest || !strings.Contains(detail.Message, where) {
			t.Errorf("%s %s with malformed JSON: %d %s\nwant 400 saying %q", route.method, route.path, status, body, where)
		}
	}
}
