package api

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/internal/testcerts"
)

// authBody is a distribution with webhook.auth: OAuth2 and a client certificate.
func authBody(t *testing.T) (body, certPEM, keyPEM string) {
	t.Helper()
	ca := testcerts.NewCA(t, "api test CA")
	c, k := ca.Client(t, "hookflow")
	auth, _ := json.Marshal(map[string]any{
		"oauth2":             map[string]any{"token_url": "https://127.0.0.1:9/token", "client_id": "hookflow", "client_secret": "api-s3cr3t", "scopes": []string{"webhooks:write"}},
		"client_certificate": map[string]any{"certificate": string(c), "private_key": string(k)},
	})
	return strings.Replace(validDistribution, `"version"`, `"auth":`+string(auth)+`,"version"`, 1), string(c), string(k)
}

func TestDistributionAuthMaskedAndKept(t *testing.T) {
	srv, _, st := newAPI(t)
	body, certPEM, keyPEM := authBody(t)
	keyLine := strings.Split(keyPEM, "\n")[1]
	status, _, created := do(t, "POST", srv.URL+"/v1/distributions", body)
	if status != 201 {
		t.Fatalf("create: %d %s", status, created)
	}
	var shown map[string]any
	_ = json.Unmarshal(created, &shown)
	id := shown["id"].(string)
	_, _, got := do(t, "GET", srv.URL+"/v1/distributions/"+id, "")
	_, _, list := do(t, "GET", srv.URL+"/v1/distributions", "")
	for name, b := range map[string][]byte{"create": created, "get": got, "list": list} {
		s := string(b)
		if strings.Contains(s, "api-s3cr3t") || strings.Contains(s, keyLine) || strings.Contains(s, `"private_key":`) {
			t.Errorf("%s shows a secret: %s", name, s)
		}
		if !strings.Contains(s, `"has_client_secret":true`) || !strings.Contains(s, `"has_private_key":true`) || !strings.Contains(s, `"client_id":"hookflow"`) {
			t.Errorf("%s does not say what auth there is: %s", name, s)
		}
	}
	stored, err := st.GetDistribution(context.Background(), id)
	if err != nil || stored.Webhook.Auth.OAuth2.ClientSecret != "api-s3cr3t" || stored.Webhook.Auth.ClientCertificate.PrivateKey != keyPEM {
		t.Fatalf("stored: %+v %v", stored.Webhook.Auth, err)
	}

	// What GET showed, sent back, is no change and keeps the secrets.
	if status, _, b := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(got)); status != 200 || !strings.Contains(string(b), `"version":1`) {
		t.Errorf("put of what was shown: %d %s", status, b)
	}
	// A scope change keeps them too.
	webhook := shown["webhook"].(map[string]any)
	auth := webhook["auth"].(map[string]any)
	auth["oauth2"].(map[string]any)["scopes"] = []string{"webhooks:write", "more"}
	b, _ := json.Marshal(shown)
	if status, _, resp := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(b)); status != 200 || !strings.Contains(string(resp), `"version":2`) {
		t.Fatalf("scope change: %d %s", status, resp)
	}
	if stored, _ := st.GetDistribution(context.Background(), id); stored.Webhook.Auth.OAuth2.ClientSecret != "api-s3cr3t" || stored.Webhook.Auth.ClientCertificate.PrivateKey != keyPEM {
		t.Errorf("the scope change lost a secret: %+v", stored.Webhook.Auth)
	}
	shown["version"] = 2.0

	// A new token endpoint, client or certificate needs its secret again.
	other := testcerts.NewCA(t, "other")
	otherCert, _ := other.Client(t, "x")
	for _, tt := range []struct {
		name, section, key, value, field string
	}{
		{"token_url", "oauth2", "token_url", "https://127.0.0.1:10/token", "webhook.auth.oauth2.client_secret"},
		{"client_id", "oauth2", "client_id", "someone-else", "webhook.auth.oauth2.client_secret"},
		{"certificate", "client_certificate", "certificate", string(otherCert), "webhook.auth.client_certificate.private_key"},
	} {
		var copyOf map[string]any
		_ = json.Unmarshal(mustJSON(shown), &copyOf)
		sec := copyOf["webhook"].(map[string]any)["auth"].(map[string]any)[tt.section].(map[string]any)
		sec[tt.key] = tt.value
		status, e, resp := do(t, "PUT", srv.URL+"/v1/distributions/"+id, string(mustJSON(copyOf)))
		found := false
		for _, p := range e.Problems {
			found = found || p.Field == tt.field
		}
		if status != 422 || !found {
			t.Errorf("%s changed without its secret: %d %s, want 422 naming %s", tt.name, status, resp, tt.field)
		}
	}
	_ = certPEM
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestDistributionAuthBadInput(t *testing.T) {
	srv, _, _ := newAPI(t)
	body, certPEM, _ := authBody(t)
	withAuth := func(auth string) string {
		return strings.Replace(validDistribution, `"version"`, `"auth":`+auth+`,"version"`, 1)
	}
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"auth a string", withAuth(`"bearer"`), 400, "webhook.auth"},
		{"unknown kind", withAuth(`{"basic":{}}`), 400, "webhook.auth.basic"},
		{"scopes a string", withAuth(`{"oauth2":{"scopes":"a b"}}`), 400, "webhook.auth.oauth2.scopes"},
		{"empty", withAuth(`{}`), 422, "webhook.auth"},
		{"no token url", withAuth(`{"oauth2":{"client_id":"c","client_secret":"s"}}`), 422, "webhook.auth.oauth2.token_url"},
		{"token url not http", withAuth(`{"oauth2":{"token_url":"gopher://x","client_id":"c","client_secret":"s"}}`), 422, "webhook.auth.oauth2.token_url"},
		{"no client id", withAuth(`{"oauth2":{"token_url":"https://x/t","client_secret":"s"}}`), 422, "webhook.auth.oauth2.client_id"},
		{"no client secret", withAuth(`{"oauth2":{"token_url":"https://x/t","client_id":"c"}}`), 422, "webhook.auth.oauth2.client_secret"},
		{"bad scope", withAuth(`{"oauth2":{"token_url":"https://x/t","client_id":"c","client_secret":"s","scopes":["a b"]}}`), 422, "webhook.auth.oauth2.scopes[0]"},
		{"certificate not PEM", withAuth(`{"client_certificate":{"certificate":"hello","private_key":"x"}}`), 422, "webhook.auth.client_certificate.certificate"},
		{"no private key", withAuth(`{"client_certificate":{"certificate":` + string(mustJSON(certPEM)) + `}}`), 422, "webhook.auth.client_certificate.private_key"},
		{"oversized certificate", withAuth(`{"client_certificate":{"certificate":"` + strings.Repeat("A", MaxDistributionBytes) + `"}}`), 413, ""},
		{"authorization header beside oauth2", strings.Replace(body, `"version"`, `"headers":[{"name":"authorization","value":"Basic x"}],"version"`, 1), 422, "webhook.headers[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e, resp := do(t, "POST", srv.URL+"/v1/distributions", tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, resp, tt.status)
			}
			fields := []string{e.Field}
			for _, p := range e.Problems {
				fields = append(fields, p.Field)
			}
			found := false
			for _, f := range fields {
				found = found || f == tt.field
			}
			if !found {
				t.Errorf("fields %q, want %s (%s)", fields, tt.field, resp)
			}
		})
	}
}

func TestWebhookAuth(t *testing.T) {
	srv, _, st := newAPI(t)
	status, _, body := do(t, "POST", srv.URL+"/v1/webhooks", `{"url":"https://example.com/wh","events":["voucher.created"],
"auth":{"oauth2":{"token_url":"https://example.com/token","client_id":"c","client_secret":"wh-s3cr3t"}}}`)
	if status != 201 || strings.Contains(string(body), "wh-s3cr3t") || !strings.Contains(string(body), `"has_client_secret":true`) {
		t.Fatalf("create: %d %s", status, body)
	}
	var hook map[string]any
	_ = json.Unmarshal(body, &hook)
	id := hook["id"].(string)
	if status, _, resp := do(t, "PUT", srv.URL+"/v1/webhooks/"+id, string(body)); status != 200 || !strings.Contains(string(resp), `"revision":1`) {
		t.Errorf("put of what was shown: %d %s", status, resp)
	}
	if stored, err := st.GetWebhook(context.Background(), id); err != nil || stored.Auth.OAuth2.ClientSecret != "wh-s3cr3t" {
		t.Errorf("stored: %+v %v", stored.Auth, err)
	}
	hook["auth"].(map[string]any)["oauth2"].(map[string]any)["token_url"] = "https://example.org/token"
	status, e, resp := do(t, "PUT", srv.URL+"/v1/webhooks/"+id, string(mustJSON(hook)))
	if status != 422 || len(e.Problems) == 0 || e.Problems[0].Field != "auth.oauth2.client_secret" {
		t.Errorf("new token url without its secret: %d %s", status, resp)
	}
}
