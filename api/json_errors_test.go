package api

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

// docMalformedJSON finds, in docs/messages.md, the malformed JSON example: the body in the
// json block after "Malformed JSON" and the answer quoted after it.
var docMalformedJSON = regexp.MustCompile("(?s)Malformed JSON is 400.*?```json\n(.*?)```.*?is answered `([^`]*)`")

// TestMessagesDocMalformedJSON sends the malformed body of docs/messages.md to the
// messages route and checks the answer is the one the doc quotes, byte position and all.
func TestMessagesDocMalformedJSON(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "messages.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := docMalformedJSON.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/messages.md has no malformed JSON example (a json block after \"Malformed JSON is 400\", then \"is answered `...`\")")
	}
	body, want := string(m[1]), string(m[2])
	a := newMessagesAPI(t)
	status, detail, answer := doWith(t, http.MethodPost, a.srv.URL+"/v1/distributions/distr_manual/messages", "application/json", body)
	if status != http.StatusBadRequest || detail.Message != want {
		t.Errorf("the doc's malformed body answered %d %s\nthe doc says 400 %q", status, answer, want)
	}
}
