package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// authFlags set webhook.auth from `distributions create` and `update`. The client secret
// and the private key are read from files, never taken on the command line, where process
// listings and shell history would show them.
type authFlags struct {
	tokenURL, clientID, secretFile, certFile, keyFile string
	scopes                                            []string
	none                                              bool

	// Read by check from the files named.
	secret, cert, key string
}

func (f *authFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.tokenURL, "oauth2-token-url", "", "webhook.auth: the OAuth2 token endpoint of the receiver (client credentials)")
	fl.StringVar(&f.clientID, "oauth2-client-id", "", "webhook.auth: the OAuth2 client id")
	fl.StringVar(&f.secretFile, "oauth2-client-secret-file", "", "webhook.auth: a file holding the OAuth2 client secret")
	fl.StringArrayVar(&f.scopes, "oauth2-scopes", nil, "webhook.auth: OAuth2 scopes to ask for (repeat the flag or separate with commas)")
	fl.StringVar(&f.certFile, "client-cert", "", "webhook.auth: a PEM file with the client certificate for mutual TLS")
	fl.StringVar(&f.keyFile, "client-key", "", "webhook.auth: a PEM file with the client certificate's private key")
	fl.BoolVar(&f.none, "no-auth", false, "remove webhook.auth")
}

func (f *authFlags) any() bool {
	return f.tokenURL != "" || f.clientID != "" || f.secretFile != "" || len(f.scopes) > 0 || f.certFile != "" || f.keyFile != "" || f.none
}

// check refuses flags that contradict each other and reads the files named.
func (f *authFlags) check() error {
	if f.none && (f.tokenURL != "" || f.clientID != "" || f.secretFile != "" || len(f.scopes) > 0 || f.certFile != "" || f.keyFile != "") {
		return errors.New("--no-auth and the --oauth2-*, --client-cert and --client-key flags exclude each other")
	}
	if err := checkURLFlag("oauth2-token-url", f.tokenURL); err != nil {
		return err
	}
	for _, r := range []struct {
		flag, file string
		into       *string
	}{{"oauth2-client-secret-file", f.secretFile, &f.secret}, {"client-cert", f.certFile, &f.cert}, {"client-key", f.keyFile, &f.key}} {
		if r.file == "" {
			continue
		}
		b, err := os.ReadFile(r.file)
		if err != nil {
			return fmt.Errorf("--%s: %v", r.flag, err)
		}
		*r.into = string(b)
	}
	// A secret file usually ends in a newline that is not part of the secret.
	f.secret = strings.TrimRight(f.secret, "\r\n")
	return nil
}

// applyTo sets the flags on a JSON-shaped webhook, over what it has.
func (f *authFlags) applyTo(hook map[string]any) {
	if f.none {
		delete(hook, "auth")
		return
	}
	if !f.any() {
		return
	}
	section := func(m map[string]any, name string) map[string]any {
		s, ok := m[name].(map[string]any)
		if !ok {
			s = map[string]any{}
			m[name] = s
		}
		return s
	}
	auth := section(hook, "auth")
	set := func(m map[string]any, key, v string) {
		if v != "" {
			m[key] = v
		}
	}
	if f.tokenURL != "" || f.clientID != "" || f.secret != "" || len(f.scopes) > 0 {
		o := section(auth, "oauth2")
		set(o, "token_url", f.tokenURL)
		set(o, "client_id", f.clientID)
		set(o, "client_secret", f.secret)
		if len(f.scopes) > 0 {
			o["scopes"] = listFlag(f.scopes)
		}
	}
	if f.cert != "" || f.key != "" {
		c := section(auth, "client_certificate")
		set(c, "certificate", f.cert)
		set(c, "private_key", f.key)
	}
}
