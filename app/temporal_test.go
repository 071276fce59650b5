package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTemporalTLS: the TLS flags build the client's TLS settings, and an API key turns
// TLS on.
func TestTemporalTLS(t *testing.T) {
	o := TemporalConfig{}
	if cfg, err := o.TLSConfig(); cfg != nil || err != nil {
		t.Errorf("no TLS flags: %v, %v", cfg, err)
	}
	o = TemporalConfig{APIKey: "key", Address: "ns.acct.tmprl.cloud:7233"}
	opts, err := o.ClientOptions(nil)
	if err != nil || opts.ConnectionOptions.TLS == nil || opts.Credentials == nil {
		t.Errorf("API key: TLS %v, credentials %v, %v", opts.ConnectionOptions.TLS, opts.Credentials, err)
	}
	o = TemporalConfig{TLSServerName: "temporal.internal"}
	if cfg, err := o.TLSConfig(); err != nil || cfg == nil || cfg.ServerName != "temporal.internal" {
		t.Errorf("server name: %v, %v", cfg, err)
	}
	o = TemporalConfig{TLSCert: "cert.pem"}
	if _, err := o.TLSConfig(); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("cert without key: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	o = TemporalConfig{TLSCA: ca}
	if _, err := o.TLSConfig(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA: %v", err)
	}
}
