package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/internal/testcerts"
)

// TestDistributionAuthFlags: create and update set webhook.auth from flags, the secrets
// from files; an update of the scopes keeps the stored secret.
func TestDistributionAuthFlags(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := testcerts.NewCA(t, "cli CA")
	certPEM, keyPEM := ca.Client(t, "hookflow")
	secretFile, certFile, keyFile := write("secret", "cli-s3cr3t\n"), write("cert.pem", string(certPEM)), write("key.pem", string(keyPEM))
	out, _, err := h.run("distributions", "create", "--name", "Orders", "--url", "https://127.0.0.1:9/h", "--event-name", "e",
		"--events", "customer.order.paid", "--oauth2-token-url", "https://127.0.0.1:9/token", "--oauth2-client-id", "hookflow",
		"--oauth2-client-secret-file", secretFile, "--oauth2-scopes", "a,b", "--client-cert", certFile, "--client-key", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Fields(out)[2]
	d, err := st.GetDistribution(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	a := d.Webhook.Auth
	if a == nil || a.OAuth2 == nil || a.OAuth2.ClientSecret != "cli-s3cr3t" || !slices.Equal(a.OAuth2.Scopes, []string{"a", "b"}) ||
		a.ClientCertificate == nil || a.ClientCertificate.PrivateKey != string(keyPEM) {
		t.Fatalf("stored auth: %+v", a)
	}
	if _, _, err := h.run("distributions", "update", id, "--oauth2-scopes", "c"); err != nil {
		t.Fatalf("update of the scopes: %v", err)
	}
	d, _ = st.GetDistribution(context.Background(), id)
	if a := d.Webhook.Auth; a.OAuth2.ClientSecret != "cli-s3cr3t" || !slices.Equal(a.OAuth2.Scopes, []string{"c"}) || a.ClientCertificate.PrivateKey != string(keyPEM) {
		t.Errorf("after --oauth2-scopes: %+v", a.OAuth2)
	}
	// A new token endpoint without its secret is refused, naming the field.
	_, _, err = h.run("distributions", "update", id, "--oauth2-token-url", "https://127.0.0.1:10/token")
	if err == nil || !strings.Contains(err.Error(), "webhook.auth.oauth2.client_secret") {
		t.Errorf("new token url without the secret: %v", err)
	}
	if _, _, err := h.run("distributions", "update", id, "--no-auth"); err != nil {
		t.Fatal(err)
	}
	if d, _ = st.GetDistribution(context.Background(), id); d.Webhook.Auth != nil {
		t.Errorf("--no-auth left %+v", d.Webhook.Auth)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--oauth2-client-secret-file", filepath.Join(dir, "missing")}, "--oauth2-client-secret-file: open"},
		{[]string{"--client-cert", filepath.Join(dir, "missing")}, "--client-cert: open"},
		{[]string{"--no-auth", "--client-cert", certFile}, "exclude each other"},
		{[]string{"--oauth2-token-url", "127.0.0.1/token"}, "--oauth2-token-url"},
		{[]string{"--client-cert", secretFile, "--client-key", keyFile}, "webhook.auth.client_certificate.certificate"},
	} {
		if _, _, err := h.run(append([]string{"distributions", "update", id}, tt.args...)...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want ...%s...", tt.args, err, tt.want)
		}
	}
}

// TestApplyAuth: a YAML document with webhook.auth applies; applied again it changes
// nothing, although the API never shows the secrets back.
func TestApplyAuth(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	ca := testcerts.NewCA(t, "apply CA")
	certPEM, keyPEM := ca.Client(t, "hookflow")
	indent := func(s string) string {
		return "        " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n        ")
	}
	doc := "name: Authenticated\ntrigger: {events: [customer.order.paid]}\nwebhook:\n  event_name: e\n  url: https://127.0.0.1:9/h\n" +
		"  auth:\n    oauth2:\n      token_url: https://127.0.0.1:9/token\n      client_id: hookflow\n      client_secret: yaml-s3cr3t\n      scopes: [webhooks:write]\n" +
		"    client_certificate:\n      certificate: |\n" + indent(string(certPEM)) + "\n      private_key: |\n" + indent(string(keyPEM)) + "\n"
	file := writeApplyFile(t, doc)
	out, _, err := h.run("distributions", "apply", "-f", file)
	if err != nil || !strings.Contains(out, "created") {
		t.Fatalf("apply: %q %v", out, err)
	}
	ds, _ := st.ListDistributions(context.Background())
	if len(ds) != 1 || ds[0].Webhook.Auth == nil || ds[0].Webhook.Auth.OAuth2.ClientSecret != "yaml-s3cr3t" ||
		ds[0].Webhook.Auth.ClientCertificate.PrivateKey != string(keyPEM) {
		t.Fatalf("stored: %+v", ds)
	}
	if out, _, err := h.run("distributions", "apply", "-f", file); err != nil || !strings.Contains(out, "unchanged") {
		t.Errorf("second apply: %q %v", out, err)
	}
	bad := writeApplyFile(t, strings.Replace(doc, "client_id: hookflow", "client_id: ''", 1))
	if _, _, err := h.run("distributions", "apply", "-f", bad); err == nil || !strings.Contains(err.Error(), "webhook.auth.oauth2.client_id") {
		t.Errorf("apply without a client id: %v", err)
	}
}
