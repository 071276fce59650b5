package app

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
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

// TestTemporalCompressionChoice: auto means no compression to this host and gzip elsewhere;
// the explicit values win; anything else is an error naming the flag.
func TestTemporalCompressionChoice(t *testing.T) {
	for _, tc := range []struct {
		address, compression string
		wantGzip             bool
	}{
		{"127.0.0.1:7233", "", false},
		{"127.0.0.2:7233", CompressionAuto, false},
		{"localhost:7233", CompressionAuto, false},
		{"LOCALHOST:7233", "", false},
		{"[::1]:7233", CompressionAuto, false},
		{"temporal.internal:7233", CompressionAuto, true},
		{"ns.acct.tmprl.cloud:7233", "", true},
		{"10.0.0.5:7233", CompressionAuto, true},
		{"[2001:db8::1]:7233", CompressionAuto, true},
		{"localhost.example.com:7233", CompressionAuto, true},
		{"127.0.0.1:7233", CompressionGzip, true},
		{"temporal.internal:7233", CompressionNone, false},
	} {
		opts, err := TemporalConfig{Address: tc.address, Compression: tc.compression}.ClientOptions(nil)
		if err != nil {
			t.Errorf("%s, %q: %v", tc.address, tc.compression, err)
			continue
		}
		_, gzip := opts.ConnectionOptions.GrpcCompression.(*client.GrpcCompressionGzip)
		if gzip != tc.wantGzip {
			t.Errorf("%s, %q: gzip %v, want %v", tc.address, tc.compression, gzip, tc.wantGzip)
		}
	}
	for _, bad := range []string{"GZIP", "brotli", "off", " none"} {
		_, err := TemporalConfig{Compression: bad}.ClientOptions(nil)
		if err == nil || !strings.Contains(err.Error(), "--temporal-compression") {
			t.Errorf("%q: %v, want an error naming --temporal-compression", bad, err)
		}
	}
}

// TestTemporalCompressionOnTheWire: what the client sends, as a gRPC server on loopback
// sees it: no encoding with auto (the address is loopback), gzip when asked for.
func TestTemporalCompressionOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		compression, want string
	}{
		{CompressionAuto, ""},
		{CompressionNone, ""},
		{CompressionGzip, "gzip"},
	} {
		t.Run(tc.compression, func(t *testing.T) {
			seen := &encodings{}
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := grpc.NewServer(grpc.StatsHandler(seen))
			workflowservice.RegisterWorkflowServiceServer(srv, systemInfoServer{})
			go srv.Serve(lis)
			defer srv.Stop()

			c, err := TemporalConfig{Address: lis.Addr().String(), Compression: tc.compression, ConnectTimeout: 5 * time.Second}.Dial(t.Context(), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			got := seen.all()
			if len(got) == 0 {
				t.Fatal("the server saw no request")
			}
			for _, enc := range got {
				if enc != tc.want {
					t.Errorf("a request came with encoding %q, want %q (all: %q)", enc, tc.want, got)
				}
			}
		})
	}
}

// systemInfoServer answers the one call a client makes when it connects.
type systemInfoServer struct {
	workflowservice.UnimplementedWorkflowServiceServer
}

func (systemInfoServer) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

// encodings records the compression of every request a gRPC server receives.
type encodings struct {
	mu   sync.Mutex
	seen []string
}

func (e *encodings) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (e *encodings) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (e *encodings) HandleConn(context.Context, stats.ConnStats)                       {}
func (e *encodings) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		e.mu.Lock()
		e.seen = append(e.seen, h.Compression)
		e.mu.Unlock()
	}
}

func (e *encodings) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.seen...)
}
