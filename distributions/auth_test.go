package distributions

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/internal/testcerts"
)

// authFixture is a valid distribution with both kinds of receiver authentication.
func authFixture(t *testing.T) (d Distribution, certPEM, keyPEM string) {
	t.Helper()
	ca := testcerts.NewCA(t, "auth test CA")
	c, k := ca.Client(t, "hookflow")
	d = Distribution{Name: "n", Trigger: Trigger{Events: []string{"customer.order.paid"}},
		Webhook: Webhook{EventName: "e", URL: "https://127.0.0.1:9/h", Auth: &Auth{
			OAuth2:            &OAuth2{TokenURL: "https://127.0.0.1:9/token", ClientID: "hookflow", ClientSecret: "s3cr3t-client", Scopes: []string{"webhooks:write", "a.b/c"}},
			ClientCertificate: &ClientCertificate{Certificate: string(c), PrivateKey: string(k)},
		}}}
	d.Normalize()
	return d, string(c), string(k)
}

func TestAuthValidation(t *testing.T) {
	base, certPEM, keyPEM := authFixture(t)
	if err := base.Validate(); err != nil {
		t.Fatalf("base: %v", err)
	}
	_, otherCert, otherKey := authFixture(t)
	block, _ := pem.Decode([]byte(keyPEM))
	keyBody := base64.StdEncoding.EncodeToString(block.Bytes)[:40]
	const o = "webhook.auth.oauth2"
	const cc = "webhook.auth.client_certificate"
	tests := []struct {
		name   string
		change func(a *Auth, w *Webhook)
		field  string
		msg    string
	}{
		{"empty auth", func(a *Auth, _ *Webhook) { *a = Auth{} }, "webhook.auth", "oauth2, client_certificate or both"},
		{"token url missing", func(a *Auth, _ *Webhook) { a.OAuth2.TokenURL = "" }, o + ".token_url", "required"},
		{"token url relative", func(a *Auth, _ *Webhook) { a.OAuth2.TokenURL = "/token" }, o + ".token_url", "absolute http or https"},
		{"token url ftp", func(a *Auth, _ *Webhook) { a.OAuth2.TokenURL = "ftp://127.0.0.1/token" }, o + ".token_url", "absolute http or https"},
		{"token url credentials", func(a *Auth, _ *Webhook) { a.OAuth2.TokenURL = "https://u:p@127.0.0.1/token" }, o + ".token_url", "credentials"},
		{"token url query", func(a *Auth, _ *Webhook) { a.OAuth2.TokenURL = "https://127.0.0.1/token?x=1" }, o + ".token_url", "query"},
		{"token url space", func(a *Auth, _ *Webhook) { a.OAuth2.TokenURL = "https://127.0.0.1/to ken" }, o + ".token_url", "whitespace"},
		{"token url too long", func(a *Auth, _ *Webhook) { a.OAuth2.TokenURL = "https://h/" + strings.Repeat("a", MaxURLLength) }, o + ".token_url", "longer"},
		{"client id missing", func(a *Auth, _ *Webhook) { a.OAuth2.ClientID = "" }, o + ".client_id", "required"},
		{"client id control", func(a *Auth, _ *Webhook) { a.OAuth2.ClientID = "a\nb" }, o + ".client_id", "control"},
		{"client id too long", func(a *Auth, _ *Webhook) { a.OAuth2.ClientID = strings.Repeat("a", MaxClientID+1) }, o + ".client_id", "longer"},
		{"client secret missing", func(a *Auth, _ *Webhook) { a.OAuth2.ClientSecret = "" }, o + ".client_secret", "required"},
		{"client secret control", func(a *Auth, _ *Webhook) { a.OAuth2.ClientSecret = "a\x00b" }, o + ".client_secret", "control"},
		{"client secret too long", func(a *Auth, _ *Webhook) { a.OAuth2.ClientSecret = strings.Repeat("s", MaxClientSecret+1) }, o + ".client_secret", "longer"},
		{"scope with space", func(a *Auth, _ *Webhook) { a.OAuth2.Scopes = []string{"ok", "read write"} }, o + ".scopes[1]", "as a list"},
		{"scope empty", func(a *Auth, _ *Webhook) { a.OAuth2.Scopes = []string{""} }, o + ".scopes[0]", "empty"},
		{"scope quote", func(a *Auth, _ *Webhook) { a.OAuth2.Scopes = []string{`a"b`} }, o + ".scopes[0]", "printable ASCII"},
		{"scope non-ASCII", func(a *Auth, _ *Webhook) { a.OAuth2.Scopes = []string{"schreibén"} }, o + ".scopes[0]", "printable ASCII"},
		{"too many scopes", func(a *Auth, _ *Webhook) { a.OAuth2.Scopes = make([]string, MaxScopes+1); fill(a.OAuth2.Scopes) }, o + ".scopes", "at most"},
		{"authorization header beside oauth2", func(_ *Auth, w *Webhook) { w.Headers = []Header{{Name: "authorization", Value: "Bearer x"}} }, "webhook.headers[0].name", "set by webhook.auth.oauth2"},
		{"certificate over http", func(_ *Auth, w *Webhook) { w.URL = "http://127.0.0.1:9/h" }, cc, "https"},
		{"certificate missing", func(a *Auth, _ *Webhook) { a.ClientCertificate.Certificate = "" }, cc + ".certificate", "required"},
		{"certificate not PEM", func(a *Auth, _ *Webhook) { a.ClientCertificate.Certificate = "MIIB..." }, cc + ".certificate", "not PEM"},
		{"certificate garbage inside", func(a *Auth, _ *Webhook) {
			a.ClientCertificate.Certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		}, cc + ".certificate", "does not parse"},
		{"certificate with trailing text", func(a *Auth, _ *Webhook) { a.ClientCertificate.Certificate = certPEM + "junk" }, cc + ".certificate", "after its last PEM block"},
		{"key given as certificate", func(a *Auth, _ *Webhook) { a.ClientCertificate.Certificate = keyPEM }, cc + ".certificate", "no CERTIFICATE block"},
		{"key inside the certificate", func(a *Auth, _ *Webhook) { a.ClientCertificate.Certificate = certPEM + keyPEM }, cc + ".certificate", "private_key"},
		{"certificate too long", func(a *Auth, _ *Webhook) {
			a.ClientCertificate.Certificate = strings.Repeat(certPEM, MaxPEM/len(certPEM)+1)
		}, cc + ".certificate", "longer"},
		{"key missing", func(a *Auth, _ *Webhook) { a.ClientCertificate.PrivateKey = "" }, cc + ".private_key", "required"},
		{"key not PEM", func(a *Auth, _ *Webhook) { a.ClientCertificate.PrivateKey = "secret" }, cc + ".private_key", "not PEM"},
		{"certificate as key", func(a *Auth, _ *Webhook) { a.ClientCertificate.PrivateKey = certPEM }, cc + ".private_key", "no PRIVATE KEY block"},
		{"key of another certificate", func(a *Auth, _ *Webhook) { a.ClientCertificate.PrivateKey = otherKey }, cc + ".private_key", "does not go with the certificate"},
		{"certificate of another key", func(a *Auth, _ *Webhook) { a.ClientCertificate.Certificate = otherCert }, cc + ".private_key", "does not go with the certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, _ := authFixture(t)
			d.Webhook.Auth.ClientCertificate = &ClientCertificate{Certificate: certPEM, PrivateKey: keyPEM}
			tt.change(d.Webhook.Auth, &d.Webhook)
			var ve *ValidationError
			if err := d.Validate(); !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want problems", err)
			}
			for _, p := range ve.Problems {
				if p.Field == tt.field && strings.Contains(p.Message, tt.msg) {
					if strings.Contains(p.Message, "s3cr3t-client") || strings.Contains(p.Message, keyBody) {
						t.Errorf("the message shows a secret: %s", p.Message)
					}
					return
				}
			}
			t.Errorf("problems %v, want %s: ...%s...", ve.Problems, tt.field, tt.msg)
		})
	}
}

func fill(s []string) {
	for i := range s {
		s[i] = "s"
	}
}

func TestAuthDecodeErrorsNameTheField(t *testing.T) {
	tests := []struct{ body, field string }{
		{`{"webhook":{"auth":"bearer"}}`, "webhook.auth"},
		{`{"webhook":{"auth":{"oauth":{}}}}`, "webhook.auth.oauth"},
		{`{"webhook":{"auth":{"oauth2":{"scopes":"a b"}}}}`, "webhook.auth.oauth2.scopes"},
		{`{"webhook":{"auth":{"oauth2":{"scopes":[1]}}}}`, "webhook.auth.oauth2.scopes"},
		{`{"webhook":{"auth":{"oauth2":{"client_id":7}}}}`, "webhook.auth.oauth2.client_id"},
		{`{"webhook":{"auth":{"client_certificate":{"cert":"x"}}}}`, "webhook.auth.client_certificate.cert"},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(tt.body))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Decode(%s) = %v, want a ValidationError", tt.body, err)
		}
		if ve.Problems[0].Field != tt.field {
			t.Errorf("Decode(%s): field %q, want %q (%v)", tt.body, ve.Problems[0].Field, tt.field, ve)
		}
	}
}

func TestAuthRedactionAndKeepSecrets(t *testing.T) {
	d, certPEM, keyPEM := authFixture(t)
	r := d.Redacted()
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "s3cr3t-client") || strings.Contains(string(b), "PRIVATE KEY") {
		t.Errorf("redacted shows a secret: %s", b)
	}
	if !r.Webhook.Auth.OAuth2.HasClientSecret || !r.Webhook.Auth.ClientCertificate.HasPrivateKey || r.Webhook.Auth.ClientCertificate.Certificate != certPEM {
		t.Errorf("redacted auth: %+v %+v", r.Webhook.Auth.OAuth2, r.Webhook.Auth.ClientCertificate)
	}
	if d.Webhook.Auth.OAuth2.ClientSecret != "s3cr3t-client" || d.Webhook.Auth.ClientCertificate.PrivateKey != keyPEM {
		t.Fatal("Redacted changed the original")
	}
	if !r.SameSettings(d.Redacted()) {
		t.Error("the same redacted settings differ")
	}

	// What the API showed, sent back unchanged, keeps both secrets.
	back := roundTrip(t, r)
	back.KeepSecrets(d)
	if back.Webhook.Auth.OAuth2.ClientSecret != "s3cr3t-client" || back.Webhook.Auth.ClientCertificate.PrivateKey != keyPEM {
		t.Errorf("KeepSecrets: %+v", back.Webhook.Auth)
	}
	if back.Webhook.Auth.OAuth2.HasClientSecret || back.Webhook.Auth.ClientCertificate.HasPrivateKey {
		t.Error("KeepSecrets kept the Has flags")
	}
	if err := back.Validate(); err != nil || !back.SameSettings(d) {
		t.Errorf("round trip: %v, same settings %v", err, back.SameSettings(d))
	}

	// A new token endpoint, a new client or a new certificate needs its secret again.
	for name, change := range map[string]func(a *Auth){
		"token_url": func(a *Auth) { a.OAuth2.TokenURL = "https://127.0.0.1:10/token" },
		"client_id": func(a *Auth) { a.OAuth2.ClientID = "other" },
	} {
		back := roundTrip(t, r)
		change(back.Webhook.Auth)
		back.KeepSecrets(d)
		if back.Webhook.Auth.OAuth2.ClientSecret != "" {
			t.Errorf("%s changed: the stored client secret was kept", name)
		}
		if !hasProblem(back.Validate(), "webhook.auth.oauth2.client_secret") {
			t.Errorf("%s changed: no problem at client_secret", name)
		}
	}
	_, otherCert, _ := authFixture(t)
	back = roundTrip(t, r)
	back.Webhook.Auth.ClientCertificate.Certificate = otherCert
	back.KeepSecrets(d)
	if back.Webhook.Auth.ClientCertificate.PrivateKey != "" || !hasProblem(back.Validate(), "webhook.auth.client_certificate.private_key") {
		t.Errorf("a new certificate kept the stored key")
	}
	// Scopes may change without the secret.
	back = roundTrip(t, r)
	back.Webhook.Auth.OAuth2.Scopes = []string{"other"}
	back.KeepSecrets(d)
	if back.Webhook.Auth.OAuth2.ClientSecret != "s3cr3t-client" {
		t.Error("a scope change dropped the client secret")
	}
}

func TestAuthKeyChangesWithEverySetting(t *testing.T) {
	d, _, _ := authFixture(t)
	seen := map[string]string{d.Webhook.Auth.Key(): "base"}
	for name, change := range map[string]func(a *Auth){
		"secret":      func(a *Auth) { a.OAuth2.ClientSecret += "x" },
		"scopes":      func(a *Auth) { a.OAuth2.Scopes = a.OAuth2.Scopes[:1] },
		"scope split": func(a *Auth) { a.OAuth2.Scopes = []string{"webhooks:write a.b/c"} },
		"client id":   func(a *Auth) { a.OAuth2.ClientID += "x" },
		"token url":   func(a *Auth) { a.OAuth2.TokenURL += "x" },
		"no oauth2":   func(a *Auth) { a.OAuth2 = nil },
		"no cert":     func(a *Auth) { a.ClientCertificate = nil },
		"private key": func(a *Auth) { a.ClientCertificate.PrivateKey += "\n" },
		"certificate": func(a *Auth) { a.ClientCertificate.Certificate += "\n" },
		"id as secret": func(a *Auth) {
			a.OAuth2.ClientID, a.OAuth2.ClientSecret = a.OAuth2.ClientID+" "+a.OAuth2.ClientSecret, ""
		},
	} {
		d, _, _ := authFixture(t)
		d.Webhook.Auth.ClientCertificate.Certificate, d.Webhook.Auth.ClientCertificate.PrivateKey = "c", "k"
		base := d.Webhook.Auth.Key()
		change(d.Webhook.Auth)
		k := d.Webhook.Auth.Key()
		if k == base {
			t.Errorf("%s: the key did not change", name)
		}
		if prev, ok := seen[k]; ok {
			t.Errorf("%s: the same key as %s", name, prev)
		}
		seen[k] = name
	}
}

func TestProjectWebhookAuth(t *testing.T) {
	d, _, keyPEM := authFixture(t)
	w := ProjectWebhook{URL: d.Webhook.URL, Events: []string{"voucher.created"}, Auth: d.Webhook.Auth,
		Headers: []Header{{Name: "authorization", Value: "x"}}}
	w.Normalize()
	err := w.Validate()
	if !hasProblem(err, "headers[0].name") {
		t.Errorf("authorization header beside oauth2: %v", err)
	}
	w.Headers = nil
	w.Auth.OAuth2.ClientID = ""
	if !hasProblem(w.Validate(), "auth.oauth2.client_id") {
		t.Errorf("project webhook without client id: %v", w.Validate())
	}
	w.Auth.OAuth2.ClientID = "hookflow"
	r := w.Redacted()
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "s3cr3t-client") || strings.Contains(string(b), "PRIVATE KEY") || !r.Auth.OAuth2.HasClientSecret {
		t.Errorf("redacted webhook: %s", b)
	}
	r.KeepSecrets(w)
	if r.Auth.ClientCertificate.PrivateKey != keyPEM || r.Auth.OAuth2.ClientSecret != "s3cr3t-client" || r.Validate() != nil {
		t.Errorf("KeepSecrets: %+v, %v", r.Auth, r.Validate())
	}
	if w.AsWebhook().Auth != w.Auth {
		t.Error("AsWebhook leaves auth out: the sender would not see it")
	}
}

func roundTrip(t *testing.T, d Distribution) Distribution {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	out.Normalize()
	return out
}

func hasProblem(err error, field string) bool {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, p := range ve.Problems {
		if p.Field == field {
			return true
		}
	}
	return false
}
