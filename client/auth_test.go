package client_test

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow/client"
	"github.com/hookflow/hookflow/internal/testcerts"
)

// TestAuthThroughAPI: a distribution's and a project webhook's auth round-trip through
// the client's types: what Get answers, sent back by Update, keeps the secrets the API
// does not show.
func TestAuthThroughAPI(t *testing.T) {
	c, st, _ := newAPI(t)
	ctx := t.Context()
	ca := testcerts.NewCA(t, "client CA")
	certPEM, keyPEM := ca.Client(t, "hookflow")
	d := paidOrders("Authenticated", "https://127.0.0.1:9/h")
	d.Webhook.Auth = &client.Auth{
		OAuth2:            &client.OAuth2{TokenURL: "https://127.0.0.1:9/token", ClientID: "hookflow", ClientSecret: "client-s3cr3t", Scopes: []string{"w"}},
		ClientCertificate: &client.ClientCertificate{Certificate: string(certPEM), PrivateKey: string(keyPEM)},
	}
	created, err := c.CreateDistribution(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	a := created.Webhook.Auth
	if a == nil || a.OAuth2 == nil || !a.OAuth2.HasClientSecret || a.OAuth2.ClientSecret != "" || a.ClientCertificate == nil ||
		!a.ClientCertificate.HasPrivateKey || a.ClientCertificate.PrivateKey != "" || a.ClientCertificate.Certificate != string(certPEM) {
		t.Fatalf("created auth %+v", a)
	}
	got, err := c.GetDistribution(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	got.Webhook.Auth.OAuth2.Scopes = []string{"w", "x"}
	if _, err := c.UpdateDistribution(ctx, *got); err != nil {
		t.Fatalf("update of what Get answered: %v", err)
	}
	stored, err := st.GetDistribution(ctx, created.ID)
	if err != nil || stored.Webhook.Auth == nil || stored.Webhook.Auth.OAuth2.ClientSecret != "client-s3cr3t" ||
		stored.Webhook.Auth.ClientCertificate.PrivateKey != string(keyPEM) || len(stored.Webhook.Auth.OAuth2.Scopes) != 2 {
		t.Fatalf("stored after the update: %+v %v", stored.Webhook.Auth, err)
	}

	active := true
	hook, err := c.CreateWebhook(ctx, client.Webhook{URL: "https://127.0.0.1:9/wh", Events: []string{"voucher.created"}, Active: &active,
		Auth: &client.Auth{OAuth2: &client.OAuth2{TokenURL: "https://127.0.0.1:9/token", ClientID: "c", ClientSecret: "wh-s3cr3t"}}})
	if err != nil {
		t.Fatal(err)
	}
	if hook.Auth == nil || !hook.Auth.OAuth2.HasClientSecret || hook.Auth.OAuth2.ClientSecret != "" {
		t.Errorf("created webhook auth %+v", hook.Auth)
	}
	hook.Auth.OAuth2.ClientID = "other"
	if _, err := c.UpdateWebhook(ctx, *hook); err == nil || !strings.Contains(err.Error(), "auth.oauth2.client_secret") {
		t.Errorf("a new client id without its secret: %v", err)
	}
}
