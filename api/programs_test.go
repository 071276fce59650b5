package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPrograms(t *testing.T) {
	srv, _, st := newAPI(t)
	status, _, body := do(t, "POST", srv.URL+"/v1/programs/referral", `{"campaign":"camp_ref","url":"https://example.com/hooks","recipient":"both","headers":[{"name":"x-token","value":"s3cret","secret":true}]}`)
	if status != 201 {
		t.Fatalf("apply: %d %s", status, body)
	}
	var first ProgramResult
	if err := json.Unmarshal(body, &first); err != nil {
		t.Fatal(err)
	}
	if first.Program.Program != "referral" || first.Campaign != "camp_ref" || first.Status != "live" || len(first.Created) != 4 || len(first.Updated) != 0 {
		t.Fatalf("first apply: %s", body)
	}

	// Paused together, and a second run updates the same four, keeping them paused and
	// keeping the secret header value it was not given again.
	if status, _, body := do(t, "POST", srv.URL+"/v1/programs/referral/camp_ref/pause", ""); status != 200 || !strings.Contains(string(body), `"status":"paused"`) {
		t.Fatalf("pause: %d %s", status, body)
	}
	status, _, body = do(t, "POST", srv.URL+"/v1/programs/referral", `{"campaign":"camp_ref","url":"https://example.com/v2","recipient":"both","headers":[{"name":"x-token","secret":true}]}`)
	var again ProgramResult
	if err := json.Unmarshal(body, &again); err != nil || status != 200 {
		t.Fatalf("apply again: %d %s", status, body)
	}
	if len(again.Created) != 0 || len(again.Updated) != 4 || again.Status != "paused" {
		t.Fatalf("apply again: %s", body)
	}
	ds, err := st.ListDistributions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 4 {
		t.Fatalf("%d distributions stored, want 4", len(ds))
	}
	for _, d := range ds {
		if d.Webhook.URL != "https://example.com/v2" || d.Version != 3 || d.Webhook.Headers[0].Value != "s3cret" {
			t.Errorf("%s: url %s version %d header %q", d.Name, d.Webhook.URL, d.Version, d.Webhook.Headers[0].Value)
		}
	}

	// Found by label, listed as a program, resumed and deleted together.
	if status, _, body := do(t, "GET", srv.URL+"/v1/distributions?label=program=referral&label=recipient=referee", ""); status != 200 || !strings.Contains(string(body), `"total":1`) {
		t.Errorf("by label: %d %s", status, body)
	}
	if status, _, body := do(t, "GET", srv.URL+"/v1/programs", ""); status != 200 || !strings.Contains(string(body), `"total":1`) || strings.Contains(string(body), "s3cret") {
		t.Errorf("list: %d %s", status, body)
	}
	if status, _, body := do(t, "POST", srv.URL+"/v1/programs/referral/camp_ref/resume", ""); status != 200 || !strings.Contains(string(body), `"status":"live"`) {
		t.Errorf("resume: %d %s", status, body)
	}
	if status, _, _ := do(t, "DELETE", srv.URL+"/v1/programs/referral/camp_ref", ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if ds, _ := st.ListDistributions(t.Context()); len(ds) != 0 {
		t.Errorf("%d distributions left after delete", len(ds))
	}
}

func TestProgramsBadInput(t *testing.T) {
	srv, _, st := newAPI(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		field, msg               string
	}{
		{"unknown program", "POST", "/v1/programs/cashback", `{"campaign":"c","url":"https://example.com"}`, 404, "program", `no program "cashback": the programs are loyalty and referral`},
		{"not JSON", "POST", "/v1/programs/loyalty", `{"campaign":`, 400, "", ""},
		{"unknown field", "POST", "/v1/programs/loyalty", `{"campaign":"c","url":"https://example.com","urls":[]}`, 400, "urls", "urls: unknown field; did you mean url?; known fields at this level: campaign, headers, notifications, notify, recipient, status, url, version"},
		{"no campaign", "POST", "/v1/programs/loyalty", `{"url":"https://example.com"}`, 422, "campaign", "campaign: is required: the id of the loyalty campaign"},
		{"odd scheme", "POST", "/v1/programs/loyalty", `{"campaign":"c","url":"file:///etc/passwd"}`, 422, "url", ""},
		{"header with CRLF", "POST", "/v1/programs/loyalty", `{"campaign":"c","url":"https://example.com","headers":[{"name":"x-a","value":"a\r\nb"}]}`, 422, "headers[0].value", ""},
		{"referee gets no code", "POST", "/v1/programs/referral", `{"campaign":"c","url":"https://example.com","recipient":"referee","notify":["code-published"]}`, 422, "notify[0]", "notify[0]: code-published goes to the referrer only, not the referee"},
		{"oversized", "POST", "/v1/programs/loyalty", `{"campaign":"` + strings.Repeat("c", MaxDistributionBytes) + `"}`, 413, "", ""},
		{"no such program campaign", "POST", "/v1/programs/loyalty/camp_none/pause", ``, 404, "campaign", `no loyalty program notifications for campaign "camp_none"`},
		{"bad label filter", "GET", "/v1/distributions?label=program", ``, 400, "label[0]", `label "program" is not key=value, such as program=loyalty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, detail, body := do(t, tt.method, srv.URL+tt.path, tt.body)
			if status != tt.status || detail.Field != tt.field || (tt.msg != "" && detail.Message != tt.msg) {
				t.Errorf("%d %s, want %d %s %q", status, body, tt.status, tt.field, tt.msg)
			}
		})
	}
	if ds, _ := st.ListDistributions(t.Context()); len(ds) != 0 {
		t.Errorf("refused requests stored %d distributions", len(ds))
	}
}
