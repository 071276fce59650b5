package distributions

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits on webhook.auth.
const (
	MaxClientID     = 256
	MaxClientSecret = 1024
	MaxScopes       = 20
	MaxScope        = 200
	// MaxPEM bounds a client certificate (with its chain) and its private key.
	MaxPEM = 16 << 10
)

// Auth is how hookflow authenticates itself to the receiver, beyond the signature: an
// OAuth2 bearer token from a client-credentials grant, a client certificate for mutual TLS,
// or both (the certificate is then presented to the token endpoint too, as RFC 8705's
// certificate-bound tokens need). Its secrets (the client secret, the private key) are never
// shown back and never enter workflow history: the POST activity reads them from the store.
type Auth struct {
	OAuth2            *OAuth2            `json:"oauth2,omitempty"`
	ClientCertificate *ClientCertificate `json:"client_certificate,omitempty"`
}

// OAuth2 is an OAuth2 client-credentials grant (RFC 6749 section 4.4): hookflow asks the
// token endpoint for an access token and sends it as Authorization: Bearer.
type OAuth2 struct {
	TokenURL string `json:"token_url"`
	ClientID string `json:"client_id"`
	// ClientSecret is never shown back: HasClientSecret says there is one.
	ClientSecret    string   `json:"client_secret,omitempty"`
	HasClientSecret bool     `json:"has_client_secret,omitempty"`
	Scopes          []string `json:"scopes,omitempty"`
}

// ClientCertificate is the certificate (PEM, with its chain if any) and private key (PEM)
// hookflow presents to a receiver that asks for one.
type ClientCertificate struct {
	Certificate string `json:"certificate"`
	// PrivateKey is never shown back: HasPrivateKey says there is one.
	PrivateKey    string `json:"private_key,omitempty"`
	HasPrivateKey bool   `json:"has_private_key,omitempty"`
}

// redacted is a copy of a without secret values, the Has flags telling which exist.
func (a *Auth) redacted() *Auth {
	if a == nil {
		return nil
	}
	out := &Auth{}
	if o := a.OAuth2; o != nil {
		c := *o
		c.HasClientSecret = c.HasClientSecret || c.ClientSecret != ""
		c.ClientSecret = ""
		out.OAuth2 = &c
	}
	if cc := a.ClientCertificate; cc != nil {
		c := *cc
		c.HasPrivateKey = c.HasPrivateKey || c.PrivateKey != ""
		c.PrivateKey = ""
		out.ClientCertificate = &c
	}
	return out
}

// withoutFlags is a copy of a without the Has flags, which only describe what is shown.
func (a *Auth) withoutFlags() *Auth {
	if a == nil {
		return nil
	}
	out := &Auth{}
	if o := a.OAuth2; o != nil {
		c := *o
		c.HasClientSecret = false
		out.OAuth2 = &c
	}
	if cc := a.ClientCertificate; cc != nil {
		c := *cc
		c.HasPrivateKey = false
		out.ClientCertificate = &c
	}
	return out
}

// keepSecrets fills the secrets an update left empty from stored, but only while what
// they belong to is unchanged: a client secret is kept for the same token URL and client
// id, a private key for the same certificate. Sending a stored secret to a new token
// endpoint would hand it to whoever runs that endpoint.
func (a *Auth) keepSecrets(stored *Auth) {
	if a == nil {
		return
	}
	a.clearFlags()
	if o := a.OAuth2; o != nil {
		if o.ClientSecret == "" && stored != nil && stored.OAuth2 != nil &&
			stored.OAuth2.TokenURL == o.TokenURL && stored.OAuth2.ClientID == o.ClientID {
			o.ClientSecret = stored.OAuth2.ClientSecret
		}
	}
	if cc := a.ClientCertificate; cc != nil {
		if cc.PrivateKey == "" && stored != nil && stored.ClientCertificate != nil &&
			stored.ClientCertificate.Certificate == cc.Certificate {
			cc.PrivateKey = stored.ClientCertificate.PrivateKey
		}
	}
}

// Key identifies the whole configuration, secrets included: the sender caches tokens and
// TLS transports under it, so any change (a new secret, a new certificate) starts afresh.
func (a *Auth) Key() string {
	h := sha256.New()
	if o := a.OAuth2; o != nil {
		// Lengths first, so that no two configurations write the same bytes.
		fmt.Fprintf(h, "oauth2 %d:%s %d:%s %d:%s", len(o.TokenURL), o.TokenURL, len(o.ClientID), o.ClientID, len(o.ClientSecret), o.ClientSecret)
		for _, s := range o.Scopes {
			fmt.Fprintf(h, " %d:%s", len(s), s)
		}
		h.Write([]byte{0})
	}
	if cc := a.ClientCertificate; cc != nil {
		fmt.Fprintf(h, "cert %d:%s %d:%s", len(cc.Certificate), cc.Certificate, len(cc.PrivateKey), cc.PrivateKey)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validate checks webhook.auth of hook (whose URL a client certificate needs to be https).
func (a *Auth) validate(ps *problems, hook Webhook) {
	if a == nil {
		return
	}
	const field = "webhook.auth"
	if a.OAuth2 == nil && a.ClientCertificate == nil {
		ps.add(field, "give oauth2, client_certificate or both; leave auth out for neither")
		return
	}
	if o := a.OAuth2; o != nil {
		f := field + ".oauth2"
		if msg := checkURL(o.TokenURL); msg != "" {
			ps.add(f+".token_url", "%s", msg)
		} else if u, _ := url.Parse(o.TokenURL); u.RawQuery != "" {
			ps.add(f+".token_url", "must not have a query: the token request's parameters are its body")
		}
		if msg := checkCredential(o.ClientID, MaxClientID); msg != "" {
			ps.add(f+".client_id", "%s", msg)
		}
		switch msg := checkCredential(o.ClientSecret, MaxClientSecret); {
		case o.ClientSecret == "":
			ps.add(f+".client_secret", "is required (on an update too, when token_url or client_id changes: a stored secret is only kept for the same endpoint and client)")
		case msg != "":
			ps.add(f+".client_secret", "%s", msg)
		}
		if len(o.Scopes) > MaxScopes {
			ps.add(f+".scopes", "at most %d scopes", MaxScopes)
		}
		for i, s := range o.Scopes {
			if msg := checkScope(s); msg != "" {
				ps.add(fmt.Sprintf("%s.scopes[%d]", f, i), "%s", msg)
			}
		}
	}
	if cc := a.ClientCertificate; cc != nil {
		f := field + ".client_certificate"
		if u, err := url.Parse(hook.URL); err == nil && u.Scheme == "http" {
			ps.add(f, "needs an https webhook.url: a client certificate is presented only in a TLS handshake")
		}
		certOK := checkPEM(ps, f+".certificate", cc.Certificate, "CERTIFICATE")
		keyOK := true
		if cc.PrivateKey == "" {
			ps.add(f+".private_key", "is required (on an update too, when the certificate changes: a stored key is only kept for the same certificate)")
			keyOK = false
		} else {
			keyOK = checkPEM(ps, f+".private_key", cc.PrivateKey, "PRIVATE KEY")
		}
		if certOK && keyOK {
			pair, err := tls.X509KeyPair([]byte(cc.Certificate), []byte(cc.PrivateKey))
			switch {
			case err != nil:
				ps.add(f+".private_key", "does not go with the certificate: %s", pemError(err))
			case pair.Leaf != nil && pair.Leaf.KeyUsage != 0 && pair.Leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0:
				ps.add(f+".certificate", "its key usage does not allow digital signatures, which a TLS client certificate needs")
			}
		}
	}
}

// authHeaderConflicts refuses a custom authorization header beside OAuth2, which sets it.
func authHeaderConflicts(ps *problems, field string, a *Auth, hs []Header) {
	if a == nil || a.OAuth2 == nil {
		return
	}
	for i, h := range hs {
		if h.Name == "authorization" {
			ps.add(fmt.Sprintf("%s[%d].name", field, i), "authorization is set by webhook.auth.oauth2: leave the header out, or oauth2")
		}
	}
}

// clearFlags drops the Has flags a request may carry back from what the API showed: what
// is stored says itself whether a secret exists.
func (a *Auth) clearFlags() {
	if a == nil {
		return
	}
	if a.OAuth2 != nil {
		a.OAuth2.HasClientSecret = false
	}
	if a.ClientCertificate != nil {
		a.ClientCertificate.HasPrivateKey = false
	}
}

// checkCredential checks a client id or secret: required, bounded, printable.
func checkCredential(v string, limit int) string {
	switch {
	case v == "":
		return "is required"
	case len(v) > limit:
		return fmt.Sprintf("longer than %d characters", limit)
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "must not contain control characters"
	}
	return ""
}

// checkScope checks one scope token: RFC 6749 section 3.3 allows printable ASCII but space,
// " and \.
func checkScope(s string) string {
	switch {
	case s == "":
		return "must not be empty"
	case len(s) > MaxScope:
		return fmt.Sprintf("longer than %d characters", MaxScope)
	case strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '\\' }):
		return "a scope is printable ASCII without spaces, \" or \\ (RFC 6749 section 3.3); give several scopes as a list"
	}
	return ""
}

// checkPEM checks that v is PEM with at least one block whose type ends in kind
// ("CERTIFICATE", "PRIVATE KEY" for PKCS#8, RSA and EC keys), and nothing but PEM.
func checkPEM(ps *problems, field, v, kind string) bool {
	switch {
	case v == "":
		ps.add(field, "is required: PEM, beginning with -----BEGIN %s-----", kind)
		return false
	case len(v) > MaxPEM:
		ps.add(field, "longer than %d bytes", MaxPEM)
		return false
	}
	rest := []byte(v)
	var types []string
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		types = append(types, b.Type)
	}
	switch {
	case len(types) == 0:
		ps.add(field, "is not PEM: expected -----BEGIN %s-----", kind)
		return false
	case strings.TrimSpace(string(rest)) != "":
		ps.add(field, "has text after its last PEM block")
		return false
	case !slices.ContainsFunc(types, func(t string) bool { return strings.HasSuffix(t, kind) }):
		ps.add(field, "has no %s block (found %s)", kind, strings.Join(types, ", "))
		return false
	}
	if kind == "CERTIFICATE" {
		for b, rest := pem.Decode([]byte(v)); b != nil; b, rest = pem.Decode(rest) {
			if b.Type != "CERTIFICATE" {
				ps.add(field, "holds a %s block: give the private key as private_key", b.Type)
				return false
			}
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				ps.add(field, "a certificate does not parse: %s", pemError(err))
				return false
			}
		}
	}
	return true
}

// pemError is a parse error without the "tls: " or "x509: " prefix.
func pemError(err error) string {
	msg := err.Error()
	for _, p := range []string{"tls: ", "x509: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}
