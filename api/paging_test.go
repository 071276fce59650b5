package api

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
)

// TestListsPage: every list route pages the same way: limit items a page, has_more and
// next_page_token to read on, and every item once across the pages in the list's order;
// a bad limit or page_token is 400 naming it.
func TestListsPage(t *testing.T) {
	srv, _, st := newAPI(t)
	ctx := t.Context()
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	for i := range 5 {
		id := fmt.Sprint(i)
		d := distributions.Distribution{ID: "distr_" + id, Name: "D" + id, Status: "live", Version: 1,
			Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}}, Action: distributions.Action{Type: "plain_message"},
			Labels:  map[string]string{distributions.LabelProgram: "loyalty", distributions.LabelCampaign: "camp_" + id, "n": id},
			Webhook: distributions.Webhook{URL: "https://example.com/" + id, EventName: "E", Version: "v2024-01-01"}, CreatedAt: at, UpdatedAt: at}
		if err := st.CreateDistribution(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateWebhook(ctx, distributions.ProjectWebhook{ID: "wh_" + id, URL: "https://example.com/w" + id, Events: []string{"voucher.created"}, Active: true, Revision: 1, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.AddNotification(ctx, store.Notification{ID: "ntf_" + id, DeliveryID: "whs_" + id, Message: "m", CreatedAt: at.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.CreateAPIKey(ctx, "k"+id, []string{store.ScopeManage}, at); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateMessage(ctx, store.Message{ID: "msg_" + id, DistributionID: "distr_0", DistributionName: "D0", Status: store.MessageScheduled,
			Delay: time.Minute, SendAt: at.Add(time.Minute), CreatedAt: at}, []json.RawMessage{json.RawMessage(`{"id":"c"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, campaign := range []string{"camp_a", "camp_b", "camp_c"} {
		if status, e, _ := do(t, "POST", srv.URL+"/v1/programs/loyalty", `{"campaign":"`+campaign+`","url":"https://example.com/loyal"}`); status/100 != 2 {
			t.Fatalf("program %s: %d %+v", campaign, status, e)
		}
		if status, e, _ := do(t, "POST", srv.URL+"/v1/programs/referral", `{"campaign":"`+campaign+`","url":"https://example.com/ref"}`); status/100 != 2 {
			t.Fatalf("program %s: %d %+v", campaign, status, e)
		}
	}
	for _, path := range []string{"/v1/distributions", "/v1/distributions?label=program%3Dloyalty", "/v1/webhooks", "/v1/notifications", "/v1/keys", "/v1/messages", "/v1/programs"} {
		t.Run(path, func(t *testing.T) {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			var whole List[json.RawMessage]
			if status, e, body := do(t, "GET", srv.URL+path, ""); status != 200 || json.Unmarshal(body, &whole) != nil {
				t.Fatalf("whole list: %d %+v", status, e)
			}
			if len(whole.Data) < 5 || whole.HasMore {
				t.Fatalf("whole list: %d items, has_more %v; want 5 or more and false", len(whole.Data), whole.HasMore)
			}
			var paged []string
			token := ""
			for pages := 1; ; pages++ {
				u := srv.URL + path + sep + "limit=2"
				if token != "" {
					u += "&page_token=" + url.QueryEscape(token)
				}
				var l List[json.RawMessage]
				status, e, body := do(t, "GET", u, "")
				if status != 200 || json.Unmarshal(body, &l) != nil {
					t.Fatalf("page %d: %d %+v", pages, status, e)
				}
				for _, item := range l.Data {
					paged = append(paged, string(item))
				}
				if l.HasMore != (l.NextPageToken != "") || (l.HasMore && len(l.Data) != 2) || pages > len(whole.Data) {
					t.Fatalf("page %d: %d items, has_more %v, next %q", pages, len(l.Data), l.HasMore, l.NextPageToken)
				}
				if !l.HasMore {
					break
				}
				token = l.NextPageToken
			}
			want := make([]string, len(whole.Data))
			for i, item := range whole.Data {
				want[i] = string(item)
			}
			if strings.Join(paged, "\n") != strings.Join(want, "\n") {
				t.Errorf("pages of 2:\n%s\nwant the whole list:\n%s", strings.Join(paged, "\n"), strings.Join(want, "\n"))
			}
			for _, bad := range []struct{ query, field string }{
				{"limit=0", "limit"}, {"limit=1001", "limit"}, {"limit=x", "limit"}, {"limit=-1", "limit"}, {"limit=1&limit=2", "limit"},
				{"page_token=not-a-token", "page_token"}, {"page_token=", "page_token"}, {"page_token=" + strings.Repeat("A", 2000), "page_token"},
				{"page_token=%00%01", "page_token"},
			} {
				if status, e, _ := do(t, "GET", srv.URL+path+sep+bad.query, ""); status != 400 || e.Field != bad.field || !strings.HasPrefix(e.Message, bad.field+":") {
					t.Errorf("?%s: %d %+v; want 400 naming %s", bad.query, status, e, bad.field)
				}
			}
		})
	}
}
