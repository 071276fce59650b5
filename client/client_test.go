package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/client"
)

// newTestClient is a client of srv that waits a millisecond before sending again.
func newTestClient(t *testing.T, srv *httptest.Server, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, append([]client.Option{client.WithHTTPClient(srv.Client()), client.WithRetryWait(time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNewBaseURL: New takes an http or https URL, trailing slashes dropped, and refuses
// anything else naming baseURL.
func TestNewBaseURL(t *testing.T) {
	for _, c := range []struct {
		base, want string
	}{
		{"http://127.0.0.1:7280", "http://127.0.0.1:7280"},
		{"https://hooks.example.com/", "https://hooks.example.com"},
		{"http://127.0.0.1:7280/prefix//", "http://127.0.0.1:7280/prefix"},
	} {
		cl, err := client.New(c.base)
		if err != nil || cl.BaseURL() != c.want {
			t.Errorf("New(%q): %v, %v; want base %q", c.base, cl, err, c.want)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:7280", "ftp://host", "http://", "http://host/?a=b", "http://host/#f", "http://[::1", "\x00", strings.Repeat("h", 1<<16)} {
		if _, err := client.New(bad); err == nil || !strings.HasPrefix(err.Error(), "baseURL ") {
			t.Errorf("New(%.40q): %v; want an error naming baseURL", bad, err)
		}
	}
}

// TestHeaders: every request carries the API key, the user agent and, with a body, its
// content type; JSON bodies keep <, > and & as they are.
func TestHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, body = r.Header, string(b)
		mu.Unlock()
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"id":"x"}`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv, client.WithAPIKey("hfk_test"), client.WithUserAgent("shop/1.0"))
	if err := c.Do(t.Context(), "POST", "/v1/things", map[string]string{"filter": "a < b && c > d"}, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if got.Get("Authorization") != "Bearer hfk_test" || got.Get("User-Agent") != "shop/1.0" ||
		got.Get("Content-Type") != "application/json" || got.Get(client.IdempotencyHeader) != "" {
		t.Errorf("headers %v", got)
	}
	if body != `{"filter":"a < b && c > d"}` {
		t.Errorf("body %s", body)
	}
	mu.Unlock()
	if err := c.Do(t.Context(), "GET", "/v1/things", nil, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.Get("Content-Type") != "" || body != "" {
		t.Errorf("a request without a body has content type %q, body %q", got.Get("Content-Type"), body)
	}
}

// TestErrorAnswers: a non-2xx answer is an *Error with the API's type, message, field,
// problems, request id and Retry-After; an answer that is not the API's error body (a
// proxy's page) still has its status; a 2xx answer that is not JSON, or larger than
// MaxAnswerBytes, is an error, never a half-decoded value.
func TestErrorAnswers(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantErr    string
		wantType   string
		wantFields []string
		retry      time.Duration
	}{
		{name: "validation", status: 422,
			body:     `{"error":{"type":"validation_error","message":"name: required; webhook.url: required","problems":[{"field":"name","message":"required"},{"field":"webhook.url","message":"required"}],"request_id":"req_1"}}`,
			wantErr:  "422 validation_error:\n  name: required\n  webhook.url: required",
			wantType: "validation_error", wantFields: []string{"name", "webhook.url"}},
		{name: "one field", status: 400, body: `{"error":{"type":"invalid_request","message":"limit: \"x\" is not one number","field":"limit"}}`,
			wantErr: `400 invalid_request: limit: "x" is not one number`, wantType: "invalid_request", wantFields: []string{"limit"}},
		{name: "not found", status: 404, body: `{"error":{"type":"not_found","message":"no distribution with id \"d\"","field":"id"}}`,
			wantErr: `404 not_found: no distribution with id "d"`, wantType: "not_found", wantFields: []string{"id"}},
		{name: "in flight", status: 409, header: map[string]string{"Retry-After": "1"},
			body:    `{"error":{"type":"conflict","message":"in progress","field":"Idempotency-Key"}}`,
			wantErr: "409 conflict: in progress", wantType: "conflict", wantFields: []string{"Idempotency-Key"}, retry: time.Second},
		{name: "proxy page", status: 502, body: `<html>bad gateway</html>`, wantErr: "GET /v1/x: HTTP 502"},
		{name: "empty", status: 500, wantErr: "GET /v1/x: HTTP 500"},
		{name: "negative Retry-After", status: 503, header: map[string]string{"Retry-After": "-5"}, wantErr: "GET /v1/x: HTTP 503"},
		{name: "not JSON", status: 200, body: `{"id":`, wantErr: "GET /v1/x: the answer (HTTP 200) is not the JSON expected"},
		{name: "wrong shape", status: 200, body: `{"id":12}`, wantErr: "is not the JSON expected"},
		{name: "too large", status: 200, body: `"` + strings.Repeat("a", client.MaxAnswerBytes) + `"`, wantErr: fmt.Sprintf("is larger than %d bytes", client.MaxAnswerBytes)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			var out struct{ ID string }
			err := newTestClient(t, srv).Do(t.Context(), "GET", "/v1/x", nil, &out)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err %v; want one saying %q", err, c.wantErr)
			}
			var ae *client.Error
			if c.status/100 == 2 {
				if errors.As(err, &ae) {
					t.Errorf("a 2xx answer made an *Error %v", ae)
				}
				return
			}
			if !errors.As(err, &ae) {
				t.Fatalf("err %T; want *client.Error", err)
			}
			var fields []string
			for _, p := range ae.FieldProblems() {
				fields = append(fields, p.Field)
			}
			if ae.StatusCode != c.status || ae.Type != c.wantType || fmt.Sprint(fields) != fmt.Sprint(c.wantFields) || ae.RetryAfter != c.retry {
				t.Errorf("%+v; want status %d type %q fields %v Retry-After %v", ae, c.status, c.wantType, c.wantFields, c.retry)
			}
			if c.name == "validation" && ae.RequestID != "req_1" {
				t.Errorf("request id %q", ae.RequestID)
			}
		})
	}
}

// TestDecode: an answer decodes into a struct, into a *json.RawMessage as it is, and into
// an any with numbers as json.Number (their digits kept).
func TestDecode(t *testing.T) {
	const answer = `{"n":12345678901234567890,"s":"x"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(answer)) }))
	defer srv.Close()
	c := newTestClient(t, srv)
	var raw json.RawMessage
	if err := c.Do(t.Context(), "GET", "/x", nil, &raw); err != nil || string(raw) != answer {
		t.Errorf("raw %s, %v", raw, err)
	}
	var v map[string]any
	if err := c.Do(t.Context(), "GET", "/x", nil, &v); err != nil || v["n"] != json.Number("12345678901234567890") {
		t.Errorf("any %#v, %v", v, err)
	}
}

// TestRefusedBeforeSending: a path without a leading slash, a malformed Idempotency-Key,
// an empty id and a body that is no JSON are refused, naming what is wrong, before
// anything is sent.
func TestRefusedBeforeSending(t *testing.T) {
	var sent int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sent++ }))
	defer srv.Close()
	c := newTestClient(t, srv)
	ctx := t.Context()
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"relative path", func() error { return c.Do(ctx, "GET", "v1/x", nil, nil) }, `path "v1/x"`},
		{"absolute URL", func() error { return c.Do(ctx, "GET", "http://other.example/x", nil, nil) }, "path "},
		{"key with space", func() error {
			return c.Create(ctx, "/v1/x", nil, nil, client.WithIdempotencyKey("a b"))
		}, client.IdempotencyHeader + ": "},
		{"key too long", func() error {
			return c.Create(ctx, "/v1/x", nil, nil, client.WithIdempotencyKey(strings.Repeat("k", client.MaxIdempotencyKeyLength+1)))
		}, client.IdempotencyHeader + ": "},
		{"key not ASCII", func() error {
			_, err := c.SendEvent(ctx, client.Event{Type: "t"}, client.WithIdempotencyKey("clé"))
			return err
		}, client.IdempotencyHeader + ": "},
		{"key with newline", func() error {
			_, err := c.CreateDistribution(ctx, client.Distribution{}, client.WithIdempotencyKey("a\r\nX-Injected: 1"))
			return err
		}, client.IdempotencyHeader + ": "},
		{"empty id", func() error { _, err := c.GetDistribution(ctx, ""); return err }, "id: empty"},
		{"update without id", func() error { _, err := c.UpdateDistribution(ctx, client.Distribution{Name: "n"}); return err }, "ID: empty"},
		{"message without distribution", func() error {
			_, err := c.CreateMessage(ctx, "", client.MessageRequest{})
			return err
		}, "distributionID: empty"},
		{"delete without id", func() error { return c.RevokeKey(ctx, "") }, "id: empty"},
		{"body no JSON", func() error { return c.Do(ctx, "POST", "/v1/x", map[string]any{"f": func() {}}, nil) }, "the request body: "},
	}
	for _, tc := range cases {
		if err := tc.call(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error starting %q", tc.name, err, tc.want)
		}
	}
	if sent != 0 {
		t.Errorf("%d requests sent; want none", sent)
	}
}

// TestIDsEscaped: an id is one path segment, whatever it holds, so it cannot name another
// route.
func TestIDsEscaped(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.EscapedPath()
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv)
	if _, err := c.GetDistribution(t.Context(), "../keys/x?y#z"); err != nil {
		t.Fatal(err)
	}
	if path != "/v1/distributions/..%2Fkeys%2Fx%3Fy%23z" {
		t.Errorf("path %s", path)
	}
}

// TestCreateSendsAgain: which answers make a creating request go again under its key (a
// lost connection, 502/503/504, 409 with Retry-After: the request in flight) and which do
// not (any other refusal); after CreateAttempts sends it gives up with an
// *IncompleteError naming the key.
func TestCreateSendsAgain(t *testing.T) {
	cases := []struct {
		name      string
		first     func(w http.ResponseWriter) // nil: every answer is lost
		key       string
		wantPosts int
		wantErr   string
	}{
		{name: "503", first: func(w http.ResponseWriter) { w.WriteHeader(503) }, wantPosts: 2},
		{name: "502 from a proxy", first: func(w http.ResponseWriter) { w.WriteHeader(502) }, wantPosts: 2},
		{name: "504", first: func(w http.ResponseWriter) { w.WriteHeader(504) }, wantPosts: 2},
		{name: "409 in flight", first: func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(409)
			_, _ = w.Write([]byte(`{"error":{"type":"conflict","message":"in progress","field":"Idempotency-Key"}}`))
		}, wantPosts: 2},
		{name: "409 stale", first: func(w http.ResponseWriter) {
			w.WriteHeader(409)
			_, _ = w.Write([]byte(`{"error":{"type":"conflict","message":"changed"}}`))
		}, wantPosts: 1, wantErr: "409 conflict: changed"},
		{name: "500", first: func(w http.ResponseWriter) { w.WriteHeader(500) }, wantPosts: 1, wantErr: "HTTP 500"},
		{name: "422", first: func(w http.ResponseWriter) {
			w.WriteHeader(422)
			_, _ = w.Write([]byte(`{"error":{"type":"validation_error","message":"name: required","field":"name"}}`))
		}, wantPosts: 1, wantErr: "422 validation_error"},
		{name: "lost every time", wantPosts: client.CreateAttempts, wantErr: client.IdempotencyHeader + " hookflow-go-"},
		{name: "lost every time, own key", key: "order-42", wantPosts: client.CreateAttempts, wantErr: client.IdempotencyHeader + " order-42"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var keys []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				keys = append(keys, r.Header.Get(client.IdempotencyHeader))
				n := len(keys)
				mu.Unlock()
				switch {
				case c.first == nil:
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
				case n == 1:
					c.first(w)
				default:
					w.WriteHeader(201)
					_, _ = w.Write([]byte(`{"id":"made"}`))
				}
			}))
			defer srv.Close()
			var opts []client.CallOption
			if c.key != "" {
				opts = append(opts, client.WithIdempotencyKey(c.key))
			}
			var out struct{ ID string }
			err := newTestClient(t, srv).Create(t.Context(), "/v1/things", map[string]any{}, &out, opts...)
			mu.Lock()
			defer mu.Unlock()
			if len(keys) != c.wantPosts {
				t.Errorf("%d POSTs; want %d", len(keys), c.wantPosts)
			}
			for _, k := range keys {
				if k == "" || k != keys[0] || c.key != "" && k != c.key {
					t.Errorf("keys %q; want one key on every POST (%q when given)", keys, c.key)
					break
				}
			}
			if c.wantErr == "" && (err != nil || out.ID != "made") {
				t.Errorf("err %v, answer %+v; want the second answer", err, out)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Errorf("err %v; want one saying %q", err, c.wantErr)
			}
			var ie *client.IncompleteError
			if gaveUp := errors.As(err, &ie); gaveUp != (c.first == nil) || gaveUp && (ie.Key != keys[0] || ie.Attempts != client.CreateAttempts) {
				t.Errorf("err %#v; want an *IncompleteError with the key %q exactly when every answer was lost", err, keys[0])
			}
		})
	}
}

// TestCreateNotSentAgain: a refused connection (nothing was sent) is not sent again, and
// neither is a request whose context ended; a context that ends while the client waits
// to send again ends the wait.
func TestCreateNotSentAgain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := client.New("http://"+addr, client.WithRetryWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := c.SendEvent(context.Background(), client.Event{Type: "t"}); done <- err }()
	select {
	case err := <-done:
		var na *client.NoAnswerError
		var ie *client.IncompleteError
		if !errors.As(err, &na) || errors.As(err, &ie) {
			t.Errorf("err %v; want no answer, at once, without a key to send again", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a refused connection was sent again")
	}

	var posts int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		mu.Unlock()
		w.WriteHeader(503)
	}))
	defer srv.Close()
	slow, err := client.New(srv.URL, client.WithRetryWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = slow.Create(ctx, "/v1/things", map[string]any{}, nil)
	var ie *client.IncompleteError
	if !errors.As(err, &ie) || ie.Key == "" || time.Since(start) > 10*time.Second {
		t.Errorf("err %v after %v; want an *IncompleteError with its key once the context ended", err, time.Since(start))
	}
	mu.Lock()
	defer mu.Unlock()
	if posts != 1 {
		t.Errorf("%d POSTs; want 1 before the context ended", posts)
	}
}

// pagedServer serves a list of n items, "i0".."i(n-1)", a page of ?limit= at a time, the
// page token being the index to start at.
func pagedServer(t *testing.T, n int, reqs *[]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*reqs = append(*reqs, r.URL.RawQuery)
		limit, from := 2, 0
		fmt.Sscan(r.URL.Query().Get("limit"), &limit)
		fmt.Sscan(r.URL.Query().Get("page_token"), &from)
		l := client.List[string]{Object: "list", Data: []string{}}
		for i := from; i < n && i < from+limit; i++ {
			l.Data = append(l.Data, fmt.Sprintf("i%d", i))
		}
		l.Total = len(l.Data)
		if from+limit < n {
			l.HasMore, l.NextPageToken = true, fmt.Sprint(from+limit)
		}
		_ = json.NewEncoder(w).Encode(l)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAll: All reads every page, in order, a page at a time as the loop needs it, keeps
// the query, and stops reading when the loop stops.
func TestAll(t *testing.T) {
	var reqs []string
	srv := pagedServer(t, 5, &reqs)
	c := newTestClient(t, srv)
	var got []string
	for item, err := range client.All[string](t.Context(), c, "/v1/items", map[string][]string{"label": {"a=b"}}, client.ListOptions{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, item)
	}
	if fmt.Sprint(got) != "[i0 i1 i2 i3 i4]" {
		t.Errorf("items %v", got)
	}
	if want := "[label=a%3Db&limit=2 label=a%3Db&limit=2&page_token=2 label=a%3Db&limit=2&page_token=4]"; fmt.Sprint(reqs) != want {
		t.Errorf("requests %v; want %v", reqs, want)
	}

	reqs = nil
	for item := range client.All[string](t.Context(), c, "/v1/items", nil, client.ListOptions{Limit: 2}) {
		if item == "i1" {
			break
		}
	}
	if len(reqs) != 1 {
		t.Errorf("breaking on the first page read %d pages", len(reqs))
	}

	page, err := client.GetPage[string](t.Context(), c, "/v1/items", nil, client.ListOptions{Limit: 3, PageToken: "3"})
	if err != nil || fmt.Sprint(page.Data) != "[i3 i4]" || page.HasMore {
		t.Errorf("the page from 3: %+v, %v", page, err)
	}
}

// TestAllStopsOnABrokenList: a page that says it has more and gives back its own token,
// or none, ends the iteration with an error instead of reading forever; an error of the
// API ends it too.
func TestAllStopsOnABrokenList(t *testing.T) {
	for _, c := range []struct {
		name, answer, want string
		status             int
	}{
		{"same token", `{"object":"list","data":["x"],"has_more":true,"next_page_token":"t"}`, `gives next_page_token "t"`, 200},
		{"no token", `{"object":"list","data":["x"],"has_more":true}`, `gives next_page_token ""`, 200},
		{"refused", `{"error":{"type":"invalid_request","message":"page_token: not one of this list","field":"page_token"}}`, "400 invalid_request", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			reqs := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reqs++
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.answer))
			}))
			defer srv.Close()
			var items, errs int
			var last error
			for _, err := range client.All[string](t.Context(), newTestClient(t, srv), "/v1/items", nil, client.ListOptions{PageToken: "t"}) {
				if err != nil {
					errs++
					last = err
					continue
				}
				items++
			}
			if errs != 1 || last == nil || !strings.Contains(last.Error(), c.want) || reqs > 2 {
				t.Errorf("%d items, %d errors (%v), %d requests; want one error saying %q", items, errs, last, reqs, c.want)
			}
		})
	}
}

// roundTripper answers every request itself, without a network.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzAnswer: whatever the API (or whatever stands at its address) answers, the client
// neither panics nor makes up a success: a non-2xx answer is an *Error with its status and
// a message, a 2xx one decodes or is an error.
func FuzzAnswer(f *testing.F) {
	f.Add(422, []byte(`{"error":{"type":"validation_error","message":"m","problems":[{"field":"name","message":"required"}]}}`), "")
	f.Add(409, []byte(`{"error":{"type":"conflict","message":"in progress","field":"Idempotency-Key"}}`), "1")
	f.Add(200, []byte(`{"object":"list","data":[{"id":"distr_1"}],"has_more":true,"next_page_token":"x"}`), "")
	f.Add(502, []byte("<html>"), "-1")
	f.Add(200, []byte(`{"error":{"message":"not an error on 200"}}`), "")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		status = 200 + (max(status, -status)%400+400)%400 // 200 to 599
		hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("Retry-After", retryAfter)
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(string(body))), Request: r}, nil
		})}
		c, err := client.New("http://127.0.0.1:1", client.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		l, err := c.ListDistributions(t.Context(), client.DistributionFilter{})
		var ae *client.Error
		switch {
		case status/100 == 2 && errors.As(err, &ae):
			t.Errorf("a %d answer made an *Error: %v", status, err)
		case status/100 == 2 && err == nil && l == nil:
			t.Errorf("a %d answer made neither a list nor an error", status)
		case status/100 != 2 && (!errors.As(err, &ae) || ae.StatusCode != status || ae.Error() == "" || ae.RetryAfter < 0):
			t.Errorf("a %d answer: %#v", status, err)
		}
	})
}
