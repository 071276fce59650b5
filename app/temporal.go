package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookflow/hookflow/codec"
	"github.com/hookflow/hookflow/workflows"
)

// TemporalConfig says how a process reaches Temporal: a local server, a self-hosted cluster
// (with mTLS) or Temporal Cloud (mTLS or an API key), and how it writes payloads there.
type TemporalConfig struct {
	Address   string // host:port of the frontend
	Namespace string
	TaskQueue string // of the delivery workflows; workers and the API must agree
	// TLS turns TLS on; the other TLS settings and APIKey imply it.
	TLS           bool
	TLSCA         string // PEM file of the CA that signed Temporal's certificate
	TLSCert       string // PEM client certificate for mTLS, with TLSKey
	TLSKey        string
	TLSServerName string // the name to verify Temporal's certificate against
	APIKey        string // Temporal Cloud API key
	// Identity is this process's identity in Temporal's history; pid@host when empty.
	Identity string
	// ConnectTimeout is how long Dial waits at start for Temporal to answer.
	ConnectTimeout time.Duration
	// Compression is the gRPC compression of the requests to Temporal: "gzip", "none", or
	// "auto" (also when empty): none when Address is a loopback address, gzip otherwise.
	Compression string
	// EncryptionKeys, as --encryption-key takes them (id:base64, comma-separated or one an
	// item), encrypt payloads in history: the first encrypts, all decrypt.
	EncryptionKeys []string
}

// withDefaults fills what a caller left empty with what the commands default to.
func (t TemporalConfig) withDefaults() TemporalConfig {
	if t.Address == "" {
		t.Address = DefaultTemporalAddress
	}
	if t.Namespace == "" {
		t.Namespace = "default"
	}
	if t.TaskQueue == "" {
		t.TaskQueue = workflows.TaskQueue
	}
	if t.ConnectTimeout == 0 {
		t.ConnectTimeout = time.Minute
	}
	return t
}

// Codec is the payload codec of the encryption keys, nil without keys. Errors name
// --encryption-key and keys by id, never their material.
func (t TemporalConfig) Codec() (*codec.Codec, error) {
	keys, err := codec.ParseKeys("--encryption-key", t.EncryptionKeys...)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	c, err := codec.New(keys...)
	if err != nil {
		return nil, fmt.Errorf("--encryption-key: %w", err)
	}
	return c, nil
}

// TLSConfig is the client's TLS settings, nil when no TLS was asked for.
func (t TemporalConfig) TLSConfig() (*tls.Config, error) {
	if !t.TLS && t.TLSCA == "" && t.TLSCert == "" && t.TLSKey == "" && t.TLSServerName == "" && t.APIKey == "" {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: t.TLSServerName, MinVersion: tls.VersionTLS12}
	if (t.TLSCert == "") != (t.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if t.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(t.TLSCert, t.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert %s, --tls-key %s: %w", t.TLSCert, t.TLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if t.TLSCA != "" {
		pem, err := os.ReadFile(t.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", t.TLSCA)
		}
	}
	return cfg, nil
}

// Compression values (--temporal-compression).
const (
	CompressionAuto = "auto"
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// grpcCompression is the SDK's compression setting for Compression. The SDK gzips every
// request by default; to a server on the same host that buys nothing and costs CPU on both
// ends (compressing and decompressing each start, task completion and poll answer: about 6 %
// of the CPU of a delivery under `hookflow dev`). Across a network, gzip stays the default.
func (t TemporalConfig) grpcCompression() (client.GrpcCompression, error) {
	switch t.Compression {
	case "", CompressionAuto:
		if isLoopbackAddress(t.Address) {
			return &client.GrpcCompressionNone{}, nil
		}
		return &client.GrpcCompressionGzip{}, nil
	case CompressionGzip:
		return &client.GrpcCompressionGzip{}, nil
	case CompressionNone:
		return &client.GrpcCompressionNone{}, nil
	}
	return nil, fmt.Errorf("--temporal-compression %q: one of %s, %s, %s", t.Compression, CompressionAuto, CompressionGzip, CompressionNone)
}

// isLoopbackAddress reports whether hostPort names this host: localhost or a loopback IP.
func isLoopbackAddress(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// identity is Identity, or pid@host as the SDK would choose, which the banner can then
// show.
func (t TemporalConfig) identity() string {
	if t.Identity != "" {
		return t.Identity
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%d@%s", os.Getpid(), host)
}

// ClientOptions are the options of every Temporal client hookflow makes (dev, api, worker,
// bench): the data converter that keeps the user's JSON byte for byte through history,
// with the codec of the encryption keys when there are any, the failure converter that
// encrypts failure details with it, the process's metrics, logger (the SDK's: warnings and
// errors, see NewSDKLogger), TLS and credentials, and the tracing interceptor while the
// process traces (startTracing).
func (t TemporalConfig) ClientOptions(logger *slog.Logger) (client.Options, error) {
	t = t.withDefaults()
	tlsCfg, err := t.TLSConfig()
	if err != nil {
		return client.Options{}, err
	}
	cdc, err := t.Codec()
	if err != nil {
		return client.Options{}, err
	}
	compression, err := t.grpcCompression()
	if err != nil {
		return client.Options{}, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := client.Options{
		HostPort:          t.Address,
		Namespace:         t.Namespace,
		Identity:          t.identity(),
		Logger:            sdklog.NewStructuredLogger(logger),
		DataConverter:     codec.DataConverterFor(cdc),
		FailureConverter:  codec.FailureConverterFor(cdc),
		ConnectionOptions: client.ConnectionOptions{TLS: tlsCfg, GrpcCompression: compression},
		MetricsHandler:    Metrics.SDKHandler(),
	}
	if in := tracingInterceptor(); in != nil {
		// Spans for the workflow's start, run and activities, carried in the headers of
		// each: a worker that picks the workflow up after a restart continues its trace.
		opts.Interceptors = append(opts.Interceptors, in)
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	return opts, nil
}

// Dial connects to Temporal with ClientOptions, waiting up to ConnectTimeout for it to
// answer, so that a worker started beside its server (compose, systemd) does not fail for
// being first. Only an unreachable server is waited for: a refused key or namespace fails
// at once. logger hears of the waiting, sdkLogger is the client's.
func (t TemporalConfig) Dial(ctx context.Context, logger, sdkLogger *slog.Logger) (client.Client, error) {
	t = t.withDefaults()
	opts, err := t.ClientOptions(sdkLogger)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(t.ConnectTimeout)
	delay := 250 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := client.DialContext(attempt, opts)
		cancel()
		if err == nil {
			return c, nil
		}
		var unavailable *serviceerror.Unavailable
		var timedOut *serviceerror.DeadlineExceeded
		retry := errors.As(err, &unavailable) || errors.As(err, &timedOut) || errors.Is(err, context.DeadlineExceeded)
		if !retry || ctx.Err() != nil || time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("connect to Temporal at %s (--temporal-address): %w", t.Address, err)
		}
		if logger != nil {
			logger.Warn("Temporal does not answer yet; retrying", "address", t.Address, "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// transportNote tells how the connection to Temporal is secured, for the banner.
func (t TemporalConfig) transportNote() string {
	switch {
	case t.APIKey != "":
		return ", TLS, API key"
	case t.TLSCert != "":
		return ", mTLS"
	case t.TLS || t.TLSCA != "" || t.TLSServerName != "":
		return ", TLS"
	}
	return ""
}

// encryptionNote tells the banner whether payloads are encrypted, by key id only.
func encryptionNote(c *codec.Codec) string {
	if c == nil {
		return "off (--encryption-key): payloads are readable in Temporal history"
	}
	ids := c.KeyIDs()
	note := "AES-256-GCM, key " + ids[0]
	if len(ids) > 1 {
		note += " (also decrypts " + strings.Join(ids[1:], ", ") + ")"
	}
	return note
}
