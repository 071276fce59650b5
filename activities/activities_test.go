package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

func newActivities(t *testing.T) (*Activities, *store.SQLite) {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := distributions.Distribution{ID: "distr_1", Name: "d", Status: distributions.StatusLive, Version: 1, CreatedAt: time.Now()}
	if err := st.CreateDistribution(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return &Activities{Store: st, HTTP: NewHTTPClient(&TargetGuard{Allow: Loopback})}, st
}

func request(url string) payloads.Request {
	return payloads.Request{DeliveryID: "whs_test", SourceID: "distr_1", URL: url, Body: []byte(`{"a":"<&>"}`), Timeout: 2 * time.Second}
}

func TestPostSignsAndClassifies(t *testing.T) {
	tests := []struct {
		code    int
		outcome payloads.Outcome
	}{
		{200, payloads.Delivered}, {204, payloads.Delivered},
		{500, payloads.Retryable}, {503, payloads.Retryable}, {429, payloads.Retryable}, {408, payloads.Retryable},
		{410, payloads.Gone}, {400, payloads.Rejected}, {404, payloads.Rejected},
	}
	a, st := newActivities(t)
	proj, err := st.Project(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(proj.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			var verifyErr error
			var gotBody []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotBody, _ = io.ReadAll(r.Body)
				verifyErr = wh.Verify(gotBody, r.Header)
				if r.Header.Get("x-voucherify-signature") != payloads.VoucherifySignature(proj.Secret, gotBody) {
					verifyErr = errors.New("x-voucherify-signature does not match")
				}
				w.WriteHeader(tt.code)
				io.WriteString(w, "receiver says hi")
			}))
			defer srv.Close()
			resp, err := a.Post(context.Background(), request(srv.URL))
			if verifyErr != nil || string(gotBody) != `{"a":"<&>"}` {
				t.Errorf("receiver: body %s, %v", gotBody, verifyErr)
			}
			if got := outcomeOf(err); got != tt.outcome {
				t.Fatalf("outcome %s (%v), want %s", got, err, tt.outcome)
			}
			wantBody := "receiver says hi"
			if tt.code == http.StatusNoContent {
				wantBody = ""
			}
			if err == nil && (resp.StatusCode != tt.code || resp.Body != wantBody) {
				t.Errorf("response %+v", resp)
			}
			if err != nil {
				var details payloads.Response
				var appErr *temporal.ApplicationError
				if !errors.As(err, &appErr) || appErr.Details(&details) != nil || details.StatusCode != tt.code || !appErr.NonRetryable() {
					t.Errorf("error details: %v %+v", err, details)
				}
			}
		})
	}
}

func outcomeOf(err error) payloads.Outcome {
	if err == nil {
		return payloads.Delivered
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return payloads.Outcome(appErr.Type())
	}
	return "unclassified: " + payloads.Outcome(err.Error())
}

func TestPostDoesNotFollowRedirects(t *testing.T) {
	a, _ := newActivities(t)
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer srv.Close()
	_, err := a.Post(context.Background(), request(srv.URL))
	if outcomeOf(err) != payloads.Retryable || followed.Load() != 0 {
		t.Errorf("redirect: %v, followed %d times", err, followed.Load())
	}
}

func TestPostTransportFailures(t *testing.T) {
	a, _ := newActivities(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()

	req := request(slow.URL)
	req.Timeout = 200 * time.Millisecond
	if _, err := a.Post(context.Background(), req); outcomeOf(err) != payloads.Retryable || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("slow receiver: %v", err)
	}
	if _, err := a.Post(context.Background(), request(refusedURL)); outcomeOf(err) != payloads.Retryable || !strings.Contains(err.Error(), "connect") {
		t.Errorf("refused: %v", err)
	}
}

func TestPostCapsTheResponseRead(t *testing.T) {
	a, _ := newActivities(t)
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for i := 0; i < 1024; i++ { // 32 MiB if anyone read it all
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	resp, err := a.Post(context.Background(), request(srv.URL))
	if err != nil || len(resp.Body) != responseSnippet {
		t.Fatalf("%v, snippet %d bytes", err, len(resp.Body))
	}
	srv.CloseClientConnections()
	if w := written.Load(); w >= 32<<20 {
		t.Errorf("the whole %d byte answer was read", w)
	}
}

func TestNotifyFailureOncePerDelivery(t *testing.T) {
	a, st := newActivities(t)
	a.WorkflowLink = func(id string) string { return "http://ui.test/workflows/" + id }
	notice := distributions.FailureNotice{DeliveryID: "whs_1", DistributionID: "distr_1", DistributionName: "Paid",
		EventID: "evt_1", EventType: "customer.order.paid", TargetURL: "http://r.test", Attempts: 13,
		LastError: "HTTP 503", Reason: "exhausted", Paused: true, WorkflowID: "event/evt_1"}
	for i := 0; i < 3; i++ { // a retried activity
		if err := a.NotifyFailure(context.Background(), notice); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := st.ListNotifications(context.Background(), true)
	if err != nil || len(ns) != 1 {
		t.Fatalf("%d notifications, %v", len(ns), err)
	}
	n := ns[0]
	if n.Link != "http://ui.test/workflows/event/evt_1" || !strings.Contains(n.Message, "HTTP 503") ||
		!strings.Contains(n.Message, "paused") || n.Attempts != 13 || !strings.HasPrefix(n.ID, "ntf_") {
		t.Errorf("notification %+v", n)
	}
}

func TestPauseAndLoadCandidates(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	for i, events := range [][]string{{"customer.order.paid"}, {"customer.order.*"}, {"customer.segment.entered"}} {
		d := distributions.Distribution{ID: fmt.Sprintf("distr_c%d", i), Name: "d", Status: distributions.StatusLive,
			Trigger: distributions.Trigger{Events: events}, Action: distributions.Action{Type: distributions.ActionPlainMessage},
			CreatedAt: time.Now().Add(-time.Hour)}
		if err := st.CreateDistribution(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.PauseDistribution(ctx, "distr_c1"); err != nil {
		t.Fatal(err)
	}
	if err := a.PauseDistribution(ctx, "distr_gone"); err != nil {
		t.Errorf("pausing a deleted distribution: %v", err)
	}
	snap, err := a.LoadCandidates(ctx, "customer.order.paid")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Candidates) != 2 || snap.Candidates[0].ID != "distr_c0" || snap.Candidates[1].Status != distributions.StatusPaused || !strings.HasPrefix(snap.ProjectID, "proj_") {
		t.Errorf("snapshot %+v", snap)
	}
}

func TestPostUsesOwnSecretAndSecretHeaders(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	own := payloads.NewSecret()
	d, err := st.GetDistribution(ctx, "distr_1")
	if err != nil {
		t.Fatal(err)
	}
	d.Webhook.Secret = own
	d.Webhook.Headers = []distributions.Header{{Name: "x-api-key", Value: "k3y", Secret: true}, {Name: "x-plain", Value: "stale"}}
	if _, err := st.UpdateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
	var got http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r.Header.Clone(), nil
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	req := request(srv.URL)
	// What the workflow sends: secret values left out, the plain one from the matched version.
	req.Headers = []distributions.Header{{Name: "x-api-key", Secret: true}, {Name: "x-plain", Value: "p"}}
	if _, err := a.Post(ctx, req); err != nil {
		t.Fatal(err)
	}
	if got.Get("x-api-key") != "k3y" || got.Get("x-plain") != "p" {
		t.Errorf("headers %v", got)
	}
	wh, _ := standardwebhooks.NewWebhook(own)
	if err := wh.Verify(body, got); err != nil || got.Get("x-voucherify-signature") != payloads.VoucherifySignature(own, body) {
		t.Errorf("not signed with the distribution's own secret: %v", err)
	}

	if err := st.DeleteDistribution(ctx, "distr_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Post(ctx, req); outcomeOf(err) != payloads.Rejected || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("deleted distribution: %v", err)
	}
}

func TestDisableWebhook(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	w := distributions.ProjectWebhook{ID: "wh_1", URL: "http://r.test", Events: []string{"voucher.created"}, Active: true, Revision: 1, CreatedAt: time.Now()}
	if err := st.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := a.DisableWebhook(ctx, "wh_1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetWebhook(ctx, "wh_1"); got.Active || got.Revision != 2 {
		t.Errorf("after disable: %+v", got)
	}
	if err := a.DisableWebhook(ctx, "wh_missing"); err != nil {
		t.Errorf("missing: %v", err)
	}
}

// TestRetryAfter reads the header as a receiver sends it. The activity's clock is fixed, so
// an HTTP date 90 s ahead (whole seconds, as the format has them) is exactly 90 s.
func TestRetryAfter(t *testing.T) {
	a, _ := newActivities(t)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a.Clock = func() time.Time { return now }
	tests := []struct {
		code   int
		header string
		want   int64
	}{
		{429, "7", 7},
		{503, now.Add(90 * time.Second).Format(http.TimeFormat), 90},
		{503, now.Add(-time.Hour).Format(http.TimeFormat), 0}, // a date in the past: no pause
		{503, "soon", 0},
		{429, "-5", 0},
		{429, "999999999", maxRetryAfter},
		{500, "7", 0}, // only 429 and 503 ask for a pause
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", tt.header)
			w.WriteHeader(tt.code)
		}))
		_, err := a.Post(context.Background(), request(srv.URL))
		srv.Close()
		var details payloads.Response
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Details(&details) != nil {
			t.Fatalf("%d %s: %v", tt.code, tt.header, err)
		}
		if got := details.RetryAfterSeconds; got != tt.want {
			t.Errorf("%d Retry-After %q: %d, want %d", tt.code, tt.header, got, tt.want)
		}
	}
}

func TestShownURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://example.com/hooks", "https://example.com/hooks"},
		{"https://example.com/hooks?token=s3cret&x=1", "https://example.com/hooks?…"},
		{"https://user:pw@example.com:8443/h#frag", "https://example.com:8443/h"},
		{"https://example.com/h?", "https://example.com/h?…"},
		{"://bad", "(unparsable URL)"},
	} {
		if got := ShownURL(tt.in); got != tt.want {
			t.Errorf("ShownURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
