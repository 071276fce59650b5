package activities

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// Receiver authentication (webhook.auth): the POST activity reads the configuration with
// the signing secrets, so nothing of it enters workflow history, and adds the bearer token
// and the client certificate at send time. What it costs to set up (a TLS transport, an
// access token) is kept per distribution in the worker process, under a key that changes
// with any setting, so that a changed configuration never uses a stale token or certificate.

// receiverAuth is the worker's cache: one entry per distribution or project webhook. The
// zero value is ready.
type receiverAuth struct {
	mu       sync.Mutex
	bySource map[string]*authEntry
}

// dropCertificate leaves out the client certificate of a redacted auth (a copy, see
// distributions' Redacted) for the snapshot that enters history: it is public, but it is
// kilobytes on every event that no workflow reads; has_private_key still says it is there.
func dropCertificate(a *distributions.Auth) {
	if a != nil && a.ClientCertificate != nil {
		a.ClientCertificate.Certificate = ""
	}
}

// authCacheInit guards the making of an Activities' cache.
var authCacheInit sync.Mutex

// authCache is a's cache of receiver authentication, made on first use.
func (a *Activities) authCache() *receiverAuth {
	authCacheInit.Lock()
	defer authCacheInit.Unlock()
	if a.receiverAuth == nil {
		a.receiverAuth = &receiverAuth{}
	}
	return a.receiverAuth
}

// authEntry is what authenticates the deliveries of one source with one configuration.
type authEntry struct {
	key string
	// client posts the deliveries (and asks for tokens): the worker's guarded client, or
	// a copy of its transport that presents the client certificate.
	client *http.Client
	// tokens is nil without oauth2.
	tokens *tokenCache
}

// entry returns the cached entry of sourceID if its configuration is still auth, or makes
// a new one in its place.
func (r *receiverAuth) entry(sourceID string, auth *distributions.Auth, base *http.Client) (*authEntry, error) {
	key := auth.Key()
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.bySource[sourceID]; e != nil && e.key == key {
		return e, nil
	}
	e, err := newAuthEntry(key, auth, base)
	if err != nil {
		return nil, err
	}
	if old := r.bySource[sourceID]; old != nil && old.client != base {
		// The old certificate's connections are of no more use.
		old.client.CloseIdleConnections()
	}
	if r.bySource == nil {
		r.bySource = map[string]*authEntry{}
	}
	r.bySource[sourceID] = e
	return e, nil
}

func newAuthEntry(key string, auth *distributions.Auth, base *http.Client) (*authEntry, error) {
	e := &authEntry{key: key, client: base}
	if cc := auth.ClientCertificate; cc != nil {
		pair, err := tls.X509KeyPair([]byte(cc.Certificate), []byte(cc.PrivateKey))
		if err != nil {
			// Validation refuses such a pair; only a store edited by hand gets here.
			return nil, fmt.Errorf("webhook.auth.client_certificate: %v", err)
		}
		bt, ok := base.Transport.(*http.Transport)
		if !ok {
			return nil, fmt.Errorf("webhook.auth.client_certificate: the worker's HTTP client has no *http.Transport to add a certificate to")
		}
		// A copy of the guarded transport: the dial-time guard, the timeouts and the proxy
		// rules stay; only the certificate is added.
		t := bt.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		t.TLSClientConfig.Certificates = []tls.Certificate{pair}
		c := *base
		c.Transport = t
		e.client = &c
	}
	if o := auth.OAuth2; o != nil {
		e.tokens = &tokenCache{
			conf: &clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: o.TokenURL,
				Scopes: o.Scopes,
				// RFC 6749 section 2.3.1: every server takes HTTP Basic. Auto-detection
				// would ask twice on every failure and send the secret in the body too.
				AuthStyle: oauth2.AuthStyleInHeader},
			client: e.client,
			sem:    make(chan struct{}, 1),
		}
	}
	return e, nil
}

// tokenCache holds one configuration's access token. Attempts that need a token at the
// same time share one token request.
type tokenCache struct {
	conf   *clientcredentials.Config
	client *http.Client
	// sem is held while a token is read or fetched; a channel so that a waiting attempt
	// can give up with its context.
	sem chan struct{}
	// now is time.Now; tests move it.
	now func() time.Time

	tok       string
	refreshAt time.Time // zero: use until a receiver refuses it
}

// refreshShare is how much of a token's life is used before a new one is asked for, so
// that a token never expires on its way to the receiver.
const refreshShare = 0.8

// token returns a valid access token: the cached one, unless it is due for refresh or it
// is stale, the token a receiver just refused with 401. When another attempt has already
// replaced the stale token, its replacement is returned without a new request.
func (c *tokenCache) token(ctx context.Context, stale string) (string, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.sem }()
	now := c.clock()
	if c.tok != "" && c.tok != stale && (c.refreshAt.IsZero() || now.Before(c.refreshAt)) {
		return c.tok, nil
	}
	tok, err := c.conf.Token(context.WithValue(ctx, oauth2.HTTPClient, c.client))
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(tok.Type(), "bearer") {
		return "", errTokenType{tok.Type()}
	}
	c.tok, c.refreshAt = tok.AccessToken, time.Time{}
	if !tok.Expiry.IsZero() {
		// The library set the expiry from expires_in against the real clock.
		life := max(time.Until(tok.Expiry), 0)
		c.refreshAt = now.Add(time.Duration(float64(life) * refreshShare))
	}
	return c.tok, nil
}

func (c *tokenCache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

type errTokenType struct{ got string }

func (e errTokenType) Error() string {
	return fmt.Sprintf("token_type %q: hookflow sends Bearer tokens only", shortASCII(e.got))
}

// tokenFailure is the attempt's failure when no token could be had. It names the token
// endpoint without its query and the server's error code, never the client secret, the
// token or the body of the answer.
func tokenFailure(tokenURL string, err error) error {
	shown := ShownURL(tokenURL)
	var re *oauth2.RetrieveError
	var typeErr errTokenType
	var opErr *net.OpError
	var urlErr *url.Error
	switch {
	case errors.Is(err, ErrRefusedTarget):
		msg := err.Error()
		if errors.As(err, &opErr) {
			msg = opErr.Err.Error()
		}
		return failure(payloads.Rejected, fmt.Sprintf("oauth2 token endpoint %s: %s", shown, msg), payloads.Response{})
	case errors.As(err, &re) && re.Response != nil:
		msg := fmt.Sprintf("oauth2 token endpoint: HTTP %d from %s", re.Response.StatusCode, shown)
		if code := shortASCII(re.ErrorCode); code != "" {
			msg += " (error " + code + ")"
		}
		return failure(payloads.Retryable, msg, payloads.Response{})
	case errors.As(err, &typeErr):
		return failure(payloads.Retryable, fmt.Sprintf("oauth2 token endpoint %s: %v", shown, typeErr), payloads.Response{})
	case errors.Is(err, context.DeadlineExceeded):
		return failure(payloads.Retryable, fmt.Sprintf("oauth2 token endpoint: timeout: no token from %s in the attempt's time", shown), payloads.Response{})
	case errors.As(err, &urlErr):
		return failure(payloads.Retryable, "oauth2 token endpoint: "+describeTransportError(shown, err), payloads.Response{})
	}
	// The library's own errors (a missing access_token, an answer that does not parse)
	// quote no values.
	return failure(payloads.Retryable, fmt.Sprintf("oauth2 token endpoint %s: %s", shown, oauthMessage(err)), payloads.Response{})
}

// oauthMessage is the library's message of err, cut short.
func oauthMessage(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// shortASCII keeps an error code or token type that a server chose readable and short:
// RFC 6749 limits error codes to printable ASCII.
func shortASCII(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}
