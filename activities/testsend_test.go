package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookflow/hookflow/payloads"
)

// TestTestPostAnswersAnyStatusWithItsHeaders: the test of a distribution signs and posts
// as Post does, and any answer (2xx or not) is its result, with the answer's headers and
// what it would mean for a delivery; no answer is one too, and the guard refuses what it
// refuses for Post.
func TestTestPostAnswersAnyStatusWithItsHeaders(t *testing.T) {
	a, st := newActivities(t)
	proj, err := st.Project(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(proj.Secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code    int
		outcome payloads.Outcome
	}{{200, payloads.Delivered}, {500, payloads.Retryable}, {410, payloads.Gone}, {400, payloads.Rejected}, {302, payloads.Retryable}} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			var verifyErr error
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				verifyErr = wh.Verify(body, r.Header)
				if r.Header.Get("x-voucherify-signature") != payloads.VoucherifySignature(proj.Secret, body) || r.Header.Get("webhook-id") != "whs_test" {
					verifyErr = errors.New("x-voucherify-signature or webhook-id wrong")
				}
				w.Header().Set("Location", "/elsewhere")
				w.Header().Add("X-Trace", "a")
				w.Header().Add("X-Trace", "b")
				w.WriteHeader(tc.code)
				io.WriteString(w, strings.Repeat("x", 600))
			}))
			defer srv.Close()
			got, err := a.TestPost(context.Background(), request(srv.URL))
			if err != nil || verifyErr != nil {
				t.Fatalf("TestPost: %v; the receiver: %v", err, verifyErr)
			}
			if got.StatusCode != tc.code || got.Outcome != tc.outcome || len(got.Body) != responseSnippet ||
				strings.Join(got.Headers["X-Trace"], ",") != "a,b" || got.Headers["Location"][0] != "/elsewhere" {
				t.Errorf("answer %+v", got)
			}
			if (got.Error == "") != (tc.outcome == payloads.Delivered) || tc.outcome != payloads.Delivered && !strings.Contains(got.Error, fmt.Sprintf("HTTP %d", tc.code)) {
				t.Errorf("error %q for %d", got.Error, tc.code)
			}
		})
	}

	t.Run("no answer", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		got, err := a.TestPost(context.Background(), request(url))
		if err != nil || got.StatusCode != 0 || got.Outcome != payloads.Retryable || !strings.HasPrefix(got.Error, "connect:") || got.Headers != nil {
			t.Errorf("%+v %v", got, err)
		}
	})

	t.Run("a refused target", func(t *testing.T) {
		guarded := *a
		guarded.HTTP = NewHTTPClient(&TargetGuard{})
		got, err := guarded.TestPost(context.Background(), request("http://127.0.0.1:9/hooks"))
		if err != nil || got.Outcome != payloads.Rejected || !strings.Contains(got.Error, "refused") {
			t.Errorf("%+v %v", got, err)
		}
	})

	t.Run("a deleted distribution", func(t *testing.T) {
		req := request("http://127.0.0.1:9/hooks")
		req.SourceID = "distr_gone"
		got, err := a.TestPost(context.Background(), req)
		if err != nil || got.Outcome != payloads.Rejected || !strings.Contains(got.Error, "no longer exists") {
			t.Errorf("%+v %v", got, err)
		}
	})
}
