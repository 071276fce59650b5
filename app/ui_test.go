package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/deliverylog"
)

func TestUIWorkflowsURL(t *testing.T) {
	for _, tc := range []struct {
		name, ui, namespace string
		filter              deliverylog.EventFilter
		want, wantErr       string
	}{
		{name: "failed", ui: DefaultUIURL, namespace: "default", filter: deliverylog.EventFilter{Status: "failed"},
			want: "http://127.0.0.1:8233/namespaces/default/workflows?query=HookflowStatus%20%3D%20%27failed%27%20AND%20WorkflowType%20%3D%20%27Delivery%27"},
		{name: "a distribution, trailing slash", ui: "https://temporal.example.com/", namespace: "prod",
			filter: deliverylog.EventFilter{DistributionID: "distr_1"},
			want:   "https://temporal.example.com/namespaces/prod/workflows?query=HookflowDistributions%20%3D%20%27distr_1%27%20AND%20WorkflowType%20%3D%20%27Delivery%27"},
		{name: "a bad status names the field", ui: DefaultUIURL, namespace: "default", filter: deliverylog.EventFilter{Status: "lost"},
			wantErr: "status:"},
		{name: "nothing a caller sends changes the query", ui: DefaultUIURL, namespace: "default",
			filter: deliverylog.EventFilter{DistributionID: "x' OR WorkflowType != '"}, wantErr: "distribution:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UIWorkflowsURL(tc.ui, tc.namespace, tc.filter)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one starting %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
}

// TestUILinkRows: the banner's links to failed and retrying deliveries, in its column.
func TestUILinkRows(t *testing.T) {
	b := &Banner{Title: "t"}
	uiLinkRows(b, "http://127.0.0.1:9999", "default")
	var out bytes.Buffer
	if _, err := b.WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	want := "t\n" +
		"  Failed in UI    http://127.0.0.1:9999/namespaces/default/workflows?query=HookflowStatus%20%3D%20%27failed%27%20AND%20WorkflowType%20%3D%20%27Delivery%27\n" +
		"  Retrying in UI  http://127.0.0.1:9999/namespaces/default/workflows?query=HookflowStatus%20%3D%20%27retrying%27%20AND%20WorkflowType%20%3D%20%27Delivery%27\n"
	if out.String() != want {
		t.Errorf("banner\n%s\nwant\n%s", out.String(), want)
	}
}
