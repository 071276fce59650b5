package activities

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/internal/testcerts"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

const testClientSecret = "client-s3cr3t"

// tokenServer is an OAuth2 token endpoint that issues tok-1, tok-2, ... to the client
// hookflow with testClientSecret, valid for expiresIn seconds.
type tokenServer struct {
	*httptest.Server
	requests  atomic.Int32
	expiresIn int
	delay     time.Duration
	// fail, when set, answers every request.
	fail func(w http.ResponseWriter)
	// tokenType is sent as token_type; "" means Bearer.
	tokenType string
	// failFrom, when > 0, answers 502 to request failFrom and every later one.
	failFrom int32
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{expiresIn: 3600}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.requests.Add(1)
		time.Sleep(ts.delay)
		id, secret, ok := r.BasicAuth()
		if r.ParseForm() != nil || r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		if !ok || id != "hookflow" || secret != testClientSecret {
			w.Header().Set("content-type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client","error_description":"bad secret `+secret+`"}`)
			return
		}
		if ts.fail != nil {
			ts.fail(w)
			return
		}
		if ts.failFrom > 0 && n >= ts.failFrom {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		if got := r.PostForm.Get("scope"); got != "webhooks:write audit" {
			http.Error(w, `{"error":"invalid_scope"}`, http.StatusBadRequest)
			return
		}
		typ := ts.tokenType
		if typ == "" {
			typ = "Bearer"
		}
		w.Header().Set("content-type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": typ, "expires_in": ts.expiresIn})
	}))
	t.Cleanup(ts.Close)
	return ts
}

// resource is a receiver that takes bearer tokens not in refused, and records what it got.
type resource struct {
	*httptest.Server
	mu      sync.Mutex
	tokens  []string
	ids     []string
	sigs    []string
	bodies  []string
	refused map[string]bool
}

func newResource(t *testing.T) *resource {
	rs := &resource{refused: map[string]bool{}}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		defer rs.mu.Unlock()
		tok, _ := strings.CutPrefix(r.Header.Get("authorization"), "Bearer ")
		rs.tokens = append(rs.tokens, tok)
		rs.ids = append(rs.ids, r.Header.Get("webhook-id"))
		rs.sigs = append(rs.sigs, r.Header.Get("webhook-signature"))
		rs.bodies = append(rs.bodies, string(body))
		if tok == "" || rs.refused[tok] || rs.refused["*"] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *resource) seen() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.tokens...)
}

// withAuth stores a distribution distr_auth that sends to url with auth.
func withAuth(t *testing.T, st store.Store, url string, auth *distributions.Auth) {
	t.Helper()
	ctx := context.Background()
	d := distributions.Distribution{ID: "distr_auth", Name: "d", Status: distributions.StatusLive, Version: 1, CreatedAt: time.Now(),
		Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}}, Action: distributions.Action{Type: distributions.ActionPlainMessage},
		Webhook: distributions.Webhook{URL: url, Auth: auth}}
	stored, err := st.GetDistribution(ctx, d.ID)
	if err != nil {
		if err := st.CreateDistribution(ctx, d); err != nil {
			t.Fatal(err)
		}
		return
	}
	d.Version = stored.Version
	if _, err := st.UpdateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
}

func oauth2Auth(tokenURL string) *distributions.Auth {
	return &distributions.Auth{OAuth2: &distributions.OAuth2{TokenURL: tokenURL, ClientID: "hookflow", ClientSecret: testClientSecret,
		Scopes: []string{"webhooks:write", "audit"}}}
}

func authRequest(url string) payloads.Request {
	r := request(url)
	r.SourceID = "distr_auth"
	return r
}

func TestPostOAuth2TokensCachedRefreshedAndRetriedOn401(t *testing.T) {
	a, st := newActivities(t)
	ts, rs := newTokenServer(t), newResource(t)
	withAuth(t, st, rs.URL, oauth2Auth(ts.URL))
	ctx := context.Background()
	post := func(step string) {
		t.Helper()
		if _, err := a.Post(ctx, authRequest(rs.URL)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	post("first")
	post("second")
	if got := rs.seen(); ts.requests.Load() != 1 || strings.Join(got, ",") != "tok-1,tok-1" {
		t.Fatalf("cached: %d token requests, receiver saw %v", ts.requests.Load(), got)
	}

	// At 4/5 of its life the token is replaced, before it expires.
	cache := a.authCache().bySource["distr_auth"].tokens
	now := time.Now()
	cache.now = func() time.Time { return now.Add(2879 * time.Second) }
	post("before 4/5")
	cache.now = func() time.Time { return now.Add(2881 * time.Second) }
	post("after 4/5")
	if got := rs.seen(); ts.requests.Load() != 2 || got[len(got)-1] != "tok-2" || got[len(got)-2] != "tok-1" {
		t.Fatalf("refresh: %d token requests, receiver saw %v", ts.requests.Load(), got)
	}
	cache.now = nil

	// A receiver that refuses the token: one new token, one retry of the same request.
	rs.mu.Lock()
	rs.refused["tok-2"] = true
	rs.mu.Unlock()
	post("after 401")
	rs.mu.Lock()
	n := len(rs.tokens)
	last2 := rs.tokens[n-2:]
	sameRequest := rs.ids[n-1] == rs.ids[n-2] && rs.sigs[n-1] == rs.sigs[n-2] && rs.bodies[n-1] == rs.bodies[n-2] && rs.bodies[n-1] == `{"a":"<&>"}`
	rs.mu.Unlock()
	if ts.requests.Load() != 3 || strings.Join(last2, ",") != "tok-2,tok-3" || !sameRequest {
		t.Fatalf("401: %d token requests, receiver saw %v, same id, signature and body %v", ts.requests.Load(), last2, sameRequest)
	}

	// A receiver that refuses every token gets its 401 recorded after one retry.
	rs.mu.Lock()
	rs.refused["*"] = true
	rs.mu.Unlock()
	before := len(rs.seen())
	resp, err := a.Post(ctx, authRequest(rs.URL))
	if outcomeOf(err) != payloads.Rejected || resp.StatusCode != 0 && resp.StatusCode != 401 || len(rs.seen()) != before+2 || ts.requests.Load() != 4 {
		t.Fatalf("refused twice: %v %+v, %d requests, %d token requests", err, resp, len(rs.seen())-before, ts.requests.Load())
	}
	rs.mu.Lock()
	rs.refused = map[string]bool{}
	rs.mu.Unlock()

	// A changed configuration never uses the old token.
	auth := oauth2Auth(ts.URL)
	auth.OAuth2.Scopes = []string{"webhooks:write", "audit"}
	auth.OAuth2.ClientID = "hookflow"
	withAuth(t, st, rs.URL+"/other", auth)
	post("same settings, other url")
	if ts.requests.Load() != 4 {
		t.Errorf("a new URL with the same auth asked for a token: %d", ts.requests.Load())
	}
	other := newTokenServer(t)
	withAuth(t, st, rs.URL, oauth2Auth(other.URL))
	post("new token url")
	if other.requests.Load() != 1 || ts.requests.Load() != 4 {
		t.Errorf("new token url: %d and %d token requests", other.requests.Load(), ts.requests.Load())
	}
}

func TestPostOAuth2ConcurrentAttemptsShareOneTokenRequest(t *testing.T) {
	a, st := newActivities(t)
	ts, rs := newTokenServer(t), newResource(t)
	ts.delay = 100 * time.Millisecond
	withAuth(t, st, rs.URL, oauth2Auth(ts.URL))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			if _, err := a.Post(context.Background(), authRequest(rs.URL)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ts.requests.Load() != 1 || strings.Count(strings.Join(rs.seen(), ","), "tok-1") != 8 {
		t.Errorf("%d token requests, receiver saw %v", ts.requests.Load(), rs.seen())
	}
	// Concurrent 401s share one refresh too.
	rs.mu.Lock()
	rs.refused["tok-1"] = true
	rs.mu.Unlock()
	for range 4 {
		wg.Go(func() { _, _ = a.Post(context.Background(), authRequest(rs.URL)) })
	}
	wg.Wait()
	if ts.requests.Load() != 2 {
		t.Errorf("four 401s at once: %d token requests, want 2", ts.requests.Load())
	}
}

func TestPostOAuth2TokenEndpointFailures(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(a *Activities, ts *tokenServer) string // returns the token URL
		outcome payloads.Outcome
		msg     string
	}{
		{"server error", func(_ *Activities, ts *tokenServer) string {
			ts.fail = func(w http.ResponseWriter) { http.Error(w, "down for maintenance", 503) }
			return ts.URL
		}, payloads.Retryable, "oauth2 token endpoint: HTTP 503 from http://127.0.0.1"},
		{"invalid client", func(_ *Activities, ts *tokenServer) string { return ts.URL + "/?" }, payloads.Retryable, ""},
		{"wrong token type", func(_ *Activities, ts *tokenServer) string { ts.tokenType = "mac"; return ts.URL }, payloads.Retryable, `token_type "MAC"`},
		{"no access token", func(_ *Activities, ts *tokenServer) string {
			ts.fail = func(w http.ResponseWriter) {
				w.Header().Set("content-type", "application/json")
				io.WriteString(w, `{"token_type":"Bearer"}`)
			}
			return ts.URL
		}, payloads.Retryable, "missing access_token"},
		{"nothing listens", func(_ *Activities, ts *tokenServer) string { return "http://127.0.0.1:1/token" }, payloads.Retryable, "oauth2 token endpoint: connect:"},
		{"refused by the guard", func(a *Activities, ts *tokenServer) string {
			a.HTTP = NewHTTPClient(&TargetGuard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
			return "http://127.0.0.2:9/token"
		}, payloads.Rejected, "oauth2 token endpoint http://127.0.0.2:9/token: refused target: 127.0.0.2 is a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, st := newActivities(t)
			ts, rs := newTokenServer(t), newResource(t)
			tokenURL := tt.setup(a, ts)
			auth := oauth2Auth(tokenURL)
			if tt.name == "invalid client" {
				auth.OAuth2.TokenURL = ts.URL
				auth.OAuth2.ClientSecret = "wrong-secret"
				tt.msg = "oauth2 token endpoint: HTTP 401 from " + ts.URL + " (error invalid_client)"
			}
			withAuth(t, st, rs.URL, auth)
			_, err := a.Post(context.Background(), authRequest(rs.URL))
			if outcomeOf(err) != tt.outcome || !strings.Contains(fmt.Sprint(err), tt.msg) {
				t.Fatalf("got %s %q, want %s ...%s...", outcomeOf(err), err, tt.outcome, tt.msg)
			}
			for _, secret := range []string{testClientSecret, "wrong-secret", "tok-"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the failure shows %q: %v", secret, err)
				}
			}
			if len(rs.seen()) != 0 {
				t.Errorf("the receiver was called without a token: %v", rs.seen())
			}
		})
	}
}

func TestPostClientCertificate(t *testing.T) {
	ca := testcerts.NewCA(t, "receiver CA")
	certPEM, keyPEM := ca.Client(t, "hookflow-client")
	var gotCN atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotCN.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Server(t)}}
	srv.StartTLS()
	defer srv.Close()

	trusting := func(guard *TargetGuard) *http.Client {
		c := NewHTTPClient(guard)
		c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: ca.Pool()}
		return c
	}
	a, st := newActivities(t)
	a.HTTP = trusting(&TargetGuard{Allow: Loopback})
	auth := &distributions.Auth{ClientCertificate: &distributions.ClientCertificate{Certificate: string(certPEM), PrivateKey: string(keyPEM)}}
	withAuth(t, st, srv.URL, auth)
	if _, err := a.Post(context.Background(), authRequest(srv.URL)); err != nil {
		t.Fatalf("with the certificate: %v", err)
	}
	if gotCN.Load() != "hookflow-client" {
		t.Errorf("the receiver saw %v", gotCN.Load())
	}
	// The shared client, which distributions without auth use, presents nothing.
	if a.HTTP.Transport.(*http.Transport).TLSClientConfig.Certificates != nil {
		t.Error("the certificate leaked into the shared transport")
	}
	req := request(srv.URL)
	if _, err := a.Post(context.Background(), req); outcomeOf(err) != payloads.Retryable || !strings.Contains(err.Error(), "transport") {
		t.Errorf("without a certificate: %s %v", outcomeOf(err), err)
	}
	// The certificate's transport keeps the guard.
	b, st2 := newActivities(t)
	b.HTTP = trusting(&TargetGuard{})
	withAuth(t, st2, srv.URL, auth)
	if _, err := b.Post(context.Background(), authRequest(srv.URL)); outcomeOf(err) != payloads.Rejected || !strings.Contains(err.Error(), "refused target") {
		t.Errorf("guard: %s %v", outcomeOf(err), err)
	}
	// A new certificate replaces the cached transport.
	certPEM2, keyPEM2 := ca.Client(t, "hookflow-client-2")
	withAuth(t, st, srv.URL, &distributions.Auth{ClientCertificate: &distributions.ClientCertificate{Certificate: string(certPEM2), PrivateKey: string(keyPEM2)}})
	if _, err := a.Post(context.Background(), authRequest(srv.URL)); err != nil || gotCN.Load() != "hookflow-client-2" {
		t.Errorf("new certificate: %v, the receiver saw %v", err, gotCN.Load())
	}
}

func TestPostOAuth2WithClientCertificateAskForTokensWithIt(t *testing.T) {
	ca := testcerts.NewCA(t, "CA")
	certPEM, keyPEM := ca.Client(t, "hookflow-client")
	ts := &tokenServer{expiresIn: 60}
	inner := newTokenServer(t)
	var tokenCN atomic.Value
	ts.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCN.Store(r.TLS.PeerCertificates[0].Subject.CommonName)
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	ts.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Server(t)}}
	ts.StartTLS()
	defer ts.Close()
	rs := newResource(t)
	a, st := newActivities(t)
	a.HTTP.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: ca.Pool()}
	auth := oauth2Auth(ts.URL)
	auth.ClientCertificate = &distributions.ClientCertificate{Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	withAuth(t, st, rs.URL, auth)
	if _, err := a.Post(context.Background(), authRequest(rs.URL)); err != nil {
		t.Fatal(err)
	}
	if tokenCN.Load() != "hookflow-client" || strings.Join(rs.seen(), ",") != "tok-1" {
		t.Errorf("token endpoint saw %v, receiver %v", tokenCN.Load(), rs.seen())
	}
}

func TestPostWithoutAuthMakesNoCache(t *testing.T) {
	a, _ := newActivities(t)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if _, err := a.Post(context.Background(), request(srv.URL)); err != nil {
		t.Fatal(err)
	}
	if a.receiverAuth != nil {
		t.Error("a delivery without auth made the auth cache")
	}
}

func TestLoadCandidatesKeepAuthSecretsAndCertificateOutOfHistory(t *testing.T) {
	a, st := newActivities(t)
	ca := testcerts.NewCA(t, "CA")
	certPEM, keyPEM := ca.Client(t, "hookflow")
	auth := oauth2Auth("https://127.0.0.1:9/token")
	auth.ClientCertificate = &distributions.ClientCertificate{Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	withAuth(t, st, "https://127.0.0.1:9/h", auth)
	snap, err := a.LoadCandidates(context.Background(), "customer.order.paid")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(snap)
	if strings.Contains(string(b), testClientSecret) || strings.Contains(string(b), "CERTIFICATE") || strings.Contains(string(b), "PRIVATE KEY") ||
		!strings.Contains(string(b), `"has_private_key":true`) || !strings.Contains(string(b), `"has_client_secret":true`) {
		t.Errorf("snapshot: %s", b)
	}
	if stored, _ := st.GetDistribution(context.Background(), "distr_auth"); stored.Webhook.Auth.ClientCertificate.Certificate != string(certPEM) {
		t.Error("LoadCandidates changed what is stored")
	}
}

func TestPostOAuth2401AndNoNewToken(t *testing.T) {
	a, st := newActivities(t)
	ts, rs := newTokenServer(t), newResource(t)
	withAuth(t, st, rs.URL, oauth2Auth(ts.URL))
	rs.refused["tok-1"] = true
	ts.failFrom = 2 // the first token is fine, no second one comes
	resp, err := a.Post(context.Background(), authRequest(rs.URL))
	want := "HTTP 401 from " + rs.URL + ", and no new token: oauth2 token endpoint: HTTP 502 from " + ts.URL
	if outcomeOf(err) != payloads.Retryable || !strings.Contains(fmt.Sprint(err), want) || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("got %s %v %+v, want retryable ...%s...", outcomeOf(err), err, resp, want)
	}
	if strings.Contains(err.Error(), "tok-1") || strings.Contains(err.Error(), testClientSecret) {
		t.Errorf("the failure shows a secret: %v", err)
	}
}

// TestTestPostAuthenticates: a distribution's test (TestPost) authenticates as its
// deliveries do, with the worker's cached token, and still shows the answer's headers.
func TestTestPostAuthenticates(t *testing.T) {
	ca := testcerts.NewCA(t, "CA")
	certPEM, keyPEM := ca.Client(t, "hookflow-test")
	ts := newTokenServer(t)
	var got atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.TLS.PeerCertificates[0].Subject.CommonName + " " + r.Header.Get("authorization"))
		w.Header().Set("x-receiver", "yes")
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Server(t)}}
	srv.StartTLS()
	defer srv.Close()
	a, st := newActivities(t)
	a.HTTP.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: ca.Pool()}
	auth := oauth2Auth(ts.URL)
	auth.ClientCertificate = &distributions.ClientCertificate{Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	withAuth(t, st, srv.URL, auth)
	if _, err := a.Post(context.Background(), authRequest(srv.URL)); err != nil {
		t.Fatal(err)
	}
	answer, err := a.TestPost(context.Background(), authRequest(srv.URL))
	if err != nil || answer.Outcome != payloads.Delivered || answer.Headers["X-Receiver"] == nil {
		t.Fatalf("test: %+v %v", answer, err)
	}
	if got.Load() != "hookflow-test Bearer tok-1" || ts.requests.Load() != 1 {
		t.Errorf("the receiver saw %v after %d token requests", got.Load(), ts.requests.Load())
	}
}
