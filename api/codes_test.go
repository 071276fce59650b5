package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/store"
)

// postCodes posts body with a content type and returns the status, the error (if any) and
// the body.
func postCodes(t *testing.T, url, contentType, body string) (int, ErrorDetail, []byte) {
	t.Helper()
	return doWith(t, http.MethodPost, url, contentType, body)
}

func TestImportCodes(t *testing.T) {
	srv, _, st := newAPI(t)
	url := srv.URL + "/v1/campaigns/camp_1/codes"
	tests := []struct {
		contentType, body string
		want              ImportedCodes
	}{
		{"text/plain; charset=utf-8", "\ufeffA\r\nB\n\n  C \t\nA\n", ImportedCodes{Added: 3, Duplicates: 1, Stats: store.CodeStats{Campaign: "camp_1", Total: 3, Available: 3}}},
		{"text/csv", "\ufeffnote,Code\nfirst,D\n\"sec,ond\",\"E\"\nthird,A\n", ImportedCodes{Added: 2, Duplicates: 1, Stats: store.CodeStats{Campaign: "camp_1", Total: 5, Available: 5}}},
		{"application/json", `{"codes": ["F", "G", "ÄÖ-€<&>"]}`, ImportedCodes{Added: 3, Stats: store.CodeStats{Campaign: "camp_1", Total: 8, Available: 8}}},
	}
	for _, tt := range tests {
		status, _, body := postCodes(t, url, tt.contentType, tt.body)
		var got ImportedCodes
		if status != http.StatusOK || json.Unmarshal(body, &got) != nil || got != tt.want {
			t.Errorf("%s: %d %s\nwant %+v", tt.contentType, status, body, tt.want)
		}
	}
	if _, err := st.PublishCode(t.Context(), store.PublicationKey{EventID: "e", DistributionID: "d", CustomerID: "c"}, "camp_1", time.Now()); err != nil {
		t.Fatal(err)
	}
	status, _, body := do(t, "GET", url+"/stats", "")
	if want := `{"campaign":"camp_1","total":8,"published":1,"available":7}` + "\n"; status != 200 || string(body) != want {
		t.Errorf("stats: %d %s, want %s", status, body, want)
	}
	status, _, body = do(t, "GET", srv.URL+"/v1/campaigns/camp_unknown/codes/stats", "")
	if want := `{"campaign":"camp_unknown","total":0,"published":0,"available":0}` + "\n"; status != 200 || string(body) != want {
		t.Errorf("stats of an unknown campaign: %d %s", status, body)
	}
}

// TestImportCodesRefusesHostileInput checks every refusal's status and message, and that
// nothing of a refused import is stored.
func TestImportCodesRefusesHostileInput(t *testing.T) {
	srv, _, st := newAPI(t)
	url := srv.URL + "/v1/campaigns/camp_h/codes"
	var manyCodes strings.Builder
	for i := range MaxCodesPerImport + 1 {
		fmt.Fprintf(&manyCodes, "C%d\n", i)
	}
	tests := []struct {
		name, url, contentType, body string
		status                       int
		typ, field, msg              string
	}{
		{"whitespace inside", url, "text/plain", "GOOD\nBAD CODE\n", 422, "validation_error", "codes", `line 2: the code "BAD CODE" contains whitespace (U+0020)`},
		{"control character", url, "text/plain", "GOOD\n\x00EVIL\n", 422, "validation_error", "codes", `line 2: the code "\x00EVIL" contains a control or unprintable character (U+0000)`},
		{"escape sequence", url, "text/plain", "A\nB\n\x1b[31mRED\n", 422, "validation_error", "codes", `line 3: the code "\x1b[31mRED" contains a control or unprintable character (U+001B)`},
		{"not UTF-8", url, "text/plain", "A\n\xff\xfe\n", 422, "validation_error", "codes", `line 2: the code "\xff\xfe" is not valid UTF-8`},
		{"too long", url, "text/plain", "A\n" + strings.Repeat("x", 101) + "\n", 422, "validation_error", "codes", `line 2: the code "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" is longer than 100 characters`},
		{"blank lines only", url, "text/plain", "\n \r\n\n", 422, "validation_error", "codes", "no codes: the body holds none"},
		{"empty body", url, "text/plain", "", 422, "validation_error", "codes", "no codes: the body holds none"},
		{"too many codes", url, "text/plain", manyCodes.String(), 413, "too_large", "codes", "more than 1000000 codes in one import: split the file"},
		{"too large", url, "text/plain", strings.Repeat("A", MaxCodesBytes+1), 413, "too_large", "", "the body is larger than 33554432 bytes"},
		{"csv without a code column", url, "text/csv", "voucher,note\nA,x\n", 422, "validation_error", "codes", "line 1: the CSV header has no code column (want a first row such as code,note)"},
		{"csv header only", url, "text/csv", "code\n", 422, "validation_error", "codes", "no codes: the body holds none"},
		{"csv empty cell", url, "text/csv", "code,note\nA,1\n,2\n", 422, "validation_error", "codes", `line 3: the code "" is empty`},
		{"csv bad quote", url, "text/csv", "code\nA\n\"B\n", 400, "invalid_request", "", `line 3: not valid CSV: extraneous or missing " in quoted-field`},
		{"csv code after a multi-line field", url, "text/csv", "note,code\n\"a\nb\",AB CD\n", 422, "validation_error", "codes", `line 3: the code "AB CD" contains whitespace (U+0020)`},
		{"csv ragged row", url, "text/csv", "code,note\nA,1\nB\n", 400, "invalid_request", "", "line 3: not valid CSV: wrong number of fields"},
		{"json unknown field", url, "application/json", `{"code": ["A"]}`, 400, "invalid_request", "code", `want {"codes": ["CODE-1", ...]}: unknown field "code"`},
		{"json not a string", url, "application/json", `{"codes": ["A", 7]}`, 422, "validation_error", "codes[1]", `codes[1]: "7" is not a string`},
		{"json bad code", url, "application/json", `{"codes": ["A", "B\tC"]}`, 422, "validation_error", "codes[1]", `codes[1]: the code "B\tC" contains whitespace (U+0009)`},
		{"json not UTF-8", url, "application/json", "{\"codes\": [\"A\", \"AB\xffCD\"]}", 422, "validation_error", "codes[1]", `codes[1]: the code is not valid UTF-8`},
		{"json not an array", url, "application/json", `{"codes": "A"}`, 400, "invalid_request", "codes", `want {"codes": ["CODE-1", ...]}: codes must be an array of strings`},
		{"json twice", url, "application/json", `{"codes": ["A"], "codes": ["B"]}`, 400, "invalid_request", "", `want {"codes": ["CODE-1", ...]}: "codes" is given twice`},
		{"json trailing", url, "application/json", `{"codes": ["A"]} {"codes": ["B"]}`, 400, "invalid_request", "", `want {"codes": ["CODE-1", ...]}: more follows the object`},
		{"json broken", url, "application/json", `{"codes": ["A"`, 400, "invalid_request", "", `want {"codes": ["CODE-1", ...]}: invalid JSON at byte 14 (line 1, column 14): unexpected end of JSON input`},
		{"json array", url, "application/json", `["A"]`, 400, "invalid_request", "", `want {"codes": ["CODE-1", ...]}: the body is not a JSON object`},
		{"json empty", url, "application/json", `{"codes": []}`, 422, "validation_error", "codes", "no codes: the body holds none"},
		{"other content type", url, "application/xml", "<codes/>", 415, "unsupported_media_type", "", `content-type "application/xml": send text/plain (one code a line), text/csv (with a code column) or application/json ({"codes": [...]})`},
		{"no content type", url, "", "A\n", 415, "unsupported_media_type", "", `content-type "": send text/plain (one code a line), text/csv (with a code column) or application/json ({"codes": [...]})`},
		{"campaign with a space", srv.URL + "/v1/campaigns/camp%20h/codes", "text/plain", "A\n", 400, "invalid_request", "id", "the campaign id must not contain whitespace or control characters"},
		{"campaign too long", srv.URL + "/v1/campaigns/" + strings.Repeat("c", 129) + "/codes", "text/plain", "A\n", 400, "invalid_request", "id", "the campaign id is longer than 128 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e, body := postCodes(t, tt.url, tt.contentType, tt.body)
			if status != tt.status || e.Type != tt.typ || e.Field != tt.field || e.Message != tt.msg {
				t.Errorf("%d %s\nwant %d %s %q: %s", status, body, tt.status, tt.typ, tt.field, tt.msg)
			}
		})
	}
	for _, campaign := range []string{"camp_h", "camp h"} {
		if stats, err := st.CodeStats(t.Context(), campaign); err != nil || stats.Total != 0 {
			t.Errorf("refused imports stored codes in %q: %+v %v", campaign, stats, err)
		}
	}
	status, e, _ := do(t, "GET", srv.URL+"/v1/campaigns/camp%0Ah/codes/stats", "")
	if status != 400 || e.Field != "id" {
		t.Errorf("stats of a bad campaign id: %d %+v", status, e)
	}
}
