package devserver

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// TestServerMetrics: with Options.Metrics the server's own series (frontend requests,
// persistence, their latency histograms) are gathered, under the names of the server's own
// Prometheus reporter; without, there is nothing to gather.
func TestServerMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal")
	}
	ctx := context.Background()
	s, err := Start(ctx, Options{Metrics: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	c, err := client.Dial(client.Options{HostPort: s.HostPort(), Namespace: s.Namespace(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.Namespace()}); err != nil {
		t.Fatal(err)
	}
	want := map[string]dto.MetricType{
		"service_requests":     dto.MetricType_COUNTER,
		"service_latency":      dto.MetricType_HISTOGRAM,
		"persistence_requests": dto.MetricType_COUNTER,
		"persistence_latency":  dto.MetricType_HISTOGRAM,
	}
	// The server reports to the registry once a second: wait for the first reports.
	var missing []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		families, err := s.Metrics().Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]dto.MetricType{}
		for _, f := range families {
			got[f.GetName()] = f.GetType()
		}
		missing = missing[:0]
		for name, typ := range want {
			have, ok := got[name]
			if !ok {
				missing = append(missing, name)
			} else if have != typ {
				t.Fatalf("%s is a %s, want %s", name, have, typ)
			}
		}
		if len(missing) == 0 {
			break
		}
	}
	if len(missing) > 0 {
		t.Errorf("the server's metrics lack %v", missing)
	}

	off, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Stop()
	if off.Metrics() != nil {
		t.Error("metrics gathered without Options.Metrics")
	}
}
