package e2e

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/internal/testcerts"
	"github.com/hookflow/hookflow/workflows"
)

// TestDevReceiverAuth: `hookflow dev` authenticates to receivers as webhook.auth says. An
// OAuth2 receiver (a token endpoint and a resource, both on loopback) gets a bearer token,
// the same one while it is fresh, a new one after 4/5 of its four-second life, and a new
// one at once when it refuses the token with 401 (the same request again); a receiver
// behind TLS that requires a client certificate gets the distribution's. A token endpoint
// that fails fails the attempt, named in the delivery log. No secret and no token is in
// workflow history.
func TestDevReceiverAuth(t *testing.T) {
	const clientSecret = "e2e-client-s3cr3t"
	ca := testcerts.NewCA(t, "e2e receiver CA")
	certPEM, keyPEM := ca.Client(t, "hookflow-e2e")

	// The token endpoint: tok-1, tok-2, ... for hookflow/clientSecret, four seconds each.
	var tokenRequests atomic.Int32
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" || id != "hookflow" || secret != clientSecret {
			w.Header().Set("content-type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		n := tokenRequests.Add(1)
		w.Header().Set("content-type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":4}`, n)
	}))
	defer tokens.Close()

	// The resource: takes any token but those revoked, and records which it got.
	var mu sync.Mutex
	var seen, ids []string
	revoked := map[string]bool{}
	resource := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tok, ok := strings.CutPrefix(r.Header.Get("authorization"), "Bearer ")
		seen = append(seen, tok)
		ids = append(ids, r.Header.Get("webhook-id"))
		if !ok || revoked[tok] {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer resource.Close()
	seenNow := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}

	// The mTLS receiver: TLS with a certificate of the test CA, a client certificate required.
	var peers []string
	mtls := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		peers = append(peers, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	mtls.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Server(t)}}
	mtls.StartTLS()
	defer mtls.Close()

	// The dev process trusts the test CA for the receiver's certificate.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, caFile, string(ca.PEM))
	d := startDevEnv(t, t.TempDir(), nil, []string{"SSL_CERT_FILE=" + caFile})
	c := d.client(t)

	create := func(name, url string, auth map[string]any, schedule any) string {
		t.Helper()
		hook := map[string]any{"event_name": "Order-paid", "url": url, "auth": auth}
		if schedule != nil {
			hook["retry_schedule"] = schedule
		}
		status, body := call(t, "POST", d.api+"/v1/distributions", map[string]any{
			"name": name, "trigger": map[string]any{"events": []string{"customer.order.paid"}}, "webhook": hook,
		})
		if status != 201 || strings.Contains(string(body), clientSecret) || strings.Contains(string(body), "PRIVATE KEY") {
			t.Fatalf("create %s: %d %s", name, status, body)
		}
		var out distributionOut
		mustJSON(t, body, &out)
		return out.ID
	}
	create("OAuth2 receiver", resource.URL+"/hooks", map[string]any{"oauth2": map[string]any{
		"token_url": tokens.URL + "/oauth/token", "client_id": "hookflow", "client_secret": clientSecret, "scopes": []string{"webhooks:write"}}}, nil)
	create("mTLS receiver", mtls.URL+"/hooks", map[string]any{"client_certificate": map[string]any{
		"certificate": string(certPEM), "private_key": string(keyPEM)}}, nil)

	deliver := func(id string) workflows.DeliveryResult {
		t.Helper()
		h := sendEvent(t, d, id)
		var res workflows.DeliveryResult
		waitWorkflow(t, c, h.WorkflowID, 60*time.Second, &res)
		return res
	}
	expectDelivered := func(res workflows.DeliveryResult, n int) {
		t.Helper()
		if res.Status != workflows.StatusDelivered || len(res.Deliveries) != n {
			t.Fatalf("result %+v", res)
		}
	}

	// A token, kept while it is fresh.
	expectDelivered(deliver("evt_auth_1"), 2)
	expectDelivered(deliver("evt_auth_2"), 2)
	if got := seenNow(); tokenRequests.Load() != 1 || strings.Join(got, ",") != "tok-1,tok-1" {
		t.Fatalf("two events: %d token requests, the resource saw %v", tokenRequests.Load(), got)
	}
	mu.Lock()
	if strings.Join(peers, ",") != "hookflow-e2e,hookflow-e2e" {
		t.Errorf("the mTLS receiver saw client certificates %v", peers)
	}
	mu.Unlock()

	// A new token once 4/5 of the old one's life has passed.
	time.Sleep(4 * time.Second)
	expectDelivered(deliver("evt_auth_3"), 2)
	if got := seenNow(); tokenRequests.Load() != 2 || got[len(got)-1] != "tok-2" {
		t.Fatalf("after expiry: %d token requests, the resource saw %v", tokenRequests.Load(), got)
	}

	// A 401: a new token at once and the same request again, in the same attempt.
	mu.Lock()
	revoked["tok-2"] = true
	mu.Unlock()
	res := deliver("evt_auth_4")
	expectDelivered(res, 2)
	mu.Lock()
	n := len(seen)
	last, lastIDs := seen[n-2:], ids[n-2:]
	mu.Unlock()
	if tokenRequests.Load() != 3 || strings.Join(last, ",") != "tok-2,tok-3" || lastIDs[0] != lastIDs[1] {
		t.Errorf("after a 401: %d token requests, the resource saw %v with webhook-ids %v", tokenRequests.Load(), last, lastIDs)
	}
	for _, dl := range res.Deliveries {
		if dl.Attempts != 1 {
			t.Errorf("the 401 and its retry are one attempt: %+v", dl)
		}
	}

	// A token endpoint that refuses the client fails the attempt, said in the delivery log.
	wrong := create("Wrong secret", resource.URL+"/other", map[string]any{"oauth2": map[string]any{
		"token_url": tokens.URL + "/oauth/token", "client_id": "hookflow", "client_secret": "not-the-secret"}}, []string{"500ms"})
	res = deliver("evt_auth_5")
	var failed *workflows.DeliveryOutcome
	for i, dl := range res.Deliveries {
		if dl.DistributionID == wrong {
			failed = &res.Deliveries[i]
		}
	}
	if failed == nil || failed.Status == workflows.StatusDelivered || failed.Attempts != 2 {
		t.Fatalf("the delivery with a wrong client secret: %+v", res)
	}
	status, body := call(t, "GET", d.api+"/v1/deliveries/"+failed.DeliveryID, nil)
	want := "oauth2 token endpoint: HTTP 401 from " + tokens.URL + "/oauth/token (error invalid_client)"
	if status != 200 || !strings.Contains(string(body), want) || strings.Contains(string(body), "not-the-secret") {
		t.Errorf("GET /v1/deliveries/%s: %d %s, want ...%s...", failed.DeliveryID, status, body, want)
	}

	// Nothing secret in history: not the client secrets, the tokens or the private key (nor
	// the certificate, public but kilobytes that no workflow reads).
	certBlock, _ := pem.Decode(certPEM)
	certText := base64.StdEncoding.EncodeToString(certBlock.Bytes)[:32]
	keyBlock, _ := pem.Decode(keyPEM)
	keyText := base64.StdEncoding.EncodeToString(keyBlock.Bytes)[:32]
	for _, id := range []string{"evt_auth_1", "evt_auth_3", "evt_auth_4", "evt_auth_5"} {
		raw, text, _ := rawHistory(t, c, "event/"+id)
		if !strings.Contains(string(raw), `"amount":100`) || !strings.Contains(string(raw), tokens.URL+"/oauth/token") || !strings.Contains(string(raw), `"has_private_key":true`) {
			t.Errorf("the history of %s does not show the event in clear: the checks below could not fail", id)
		}
		for _, secret := range []string{clientSecret, "not-the-secret", "tok-1", "tok-2", "tok-3", keyText, certText, "Bearer "} {
			if strings.Contains(string(raw), secret) || strings.Contains(string(text), secret) {
				t.Errorf("the history of %s holds %q", id, secret)
			}
		}
	}
	// Nor what the API and the CLI show.
	out := runCLI(t, d, "distributions", "list", "-o", "json")
	var listed struct{ Data []json.RawMessage }
	mustJSON(t, []byte(out), &listed)
	if len(listed.Data) != 3 || strings.Contains(out, clientSecret) || strings.Contains(out, keyText) || strings.Count(out, `"has_client_secret": true`) != 2 {
		t.Errorf("distributions list:\n%s", out)
	}
}
