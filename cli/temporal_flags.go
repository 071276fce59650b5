package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/workflows"
)

// registerTemporalFlags adds the flags that say how to reach Temporal to f, filling t.
func registerTemporalFlags(f *pflag.FlagSet, t *app.TemporalConfig) {
	f.StringVar(&t.Address, "temporal-address", app.DefaultTemporalAddress, "Temporal frontend host:port")
	f.StringVar(&t.Namespace, "namespace", "default", "Temporal namespace")
	f.StringVar(&t.TaskQueue, "task-queue", workflows.TaskQueue, "task queue of the delivery workflows; the worker and the api must agree")
	f.BoolVar(&t.TLS, "tls", false, "connect to Temporal with TLS (implied by the other --tls-* flags and --temporal-api-key)")
	f.StringVar(&t.TLSCA, "tls-ca", "", "PEM file of the CA that signed Temporal's certificate (default: the system's roots)")
	f.StringVar(&t.TLSCert, "tls-cert", "", "PEM client certificate for mTLS (with --tls-key)")
	f.StringVar(&t.TLSKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&t.TLSServerName, "tls-server-name", "", "server name to verify Temporal's certificate against (default: the host of --temporal-address)")
	f.Var(&secretValue{p: &t.APIKey}, "temporal-api-key", "Temporal Cloud API key; turns TLS on")
	f.StringVar(&t.Identity, "identity", "", "this process's identity in Temporal's history (default pid@host)")
	f.StringVar(&t.Compression, "temporal-compression", app.CompressionAuto, "gRPC compression of requests to Temporal: auto (none to a loopback address, gzip otherwise), gzip or none")
	durationVar(f, &t.ConnectTimeout, "connect-timeout", time.Minute, "how long to wait at start for Temporal to answer")
	registerEncryptionKey(f, &t.EncryptionKeys)
}

// registerEncryptionKey adds --encryption-key, filling keys.
func registerEncryptionKey(f *pflag.FlagSet, keys *[]string) {
	f.Var(&keyList{specs: keys}, "encryption-key", "encrypt payloads in Temporal history with AES-256-GCM: id:base64-of-32-bytes, comma-separated or repeated; "+
		"the first encrypts, all decrypt (make one with: echo \"$(date +%Y%m):$(openssl rand -base64 32)\")")
}

// keyList is the value of --encryption-key: id:base64 keys, comma-separated or repeated.
// It never shows its value, not in help nor in an error, and never fails to be set:
// app.TemporalConfig.Codec checks the keys, with errors that name them only by id.
type keyList struct{ specs *[]string }

func (k *keyList) String() string {
	if k.specs == nil || len(*k.specs) == 0 {
		return ""
	}
	return "<redacted>"
}

func (k *keyList) Set(v string) error { *k.specs = append(*k.specs, v); return nil }
func (k *keyList) Type() string       { return "keys" }

// Append, Replace and GetSlice make it a pflag.SliceValue: loadConfig then splits
// HOOKFLOW_ENCRYPTION_KEY at commas and takes a list in the config file.
func (k *keyList) Append(v string) error     { return k.Set(v) }
func (k *keyList) Replace(vs []string) error { *k.specs = append([]string(nil), vs...); return nil }
func (k *keyList) GetSlice() []string        { return append([]string(nil), *k.specs...) }

// secretValue is a string flag whose value is never shown: not as a default in --help, not
// in an error.
type secretValue struct{ p *string }

func (s *secretValue) String() string {
	if s.p == nil || *s.p == "" {
		return ""
	}
	return "<redacted>"
}

func (s *secretValue) Set(v string) error { *s.p = v; return nil }
func (s *secretValue) Type() string       { return "string" }
