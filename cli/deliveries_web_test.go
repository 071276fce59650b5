package cli

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// TestDeliveriesListWeb: --web prints the Web UI's list with the filters as its query,
// without asking the API; a bad filter or UI URL names its flag.
func TestDeliveriesListWeb(t *testing.T) {
	h, _ := newHarness(t, &api.Server{})
	h.api = "http://127.0.0.1:1" // nothing listens: --web must not call it
	for _, tc := range []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{name: "failed, dev's UI by default", args: []string{"--status", "failed"},
			want: "http://127.0.0.1:8233/namespaces/default/workflows?query=HookflowStatus%20%3D%20%27failed%27%20AND%20WorkflowType%20%3D%20%27Delivery%27\n"},
		{name: "one distribution on another UI", args: []string{"--distribution", "distr_1", "--ui-url", "https://t.example.com", "--namespace", "prod"},
			want: "https://t.example.com/namespaces/prod/workflows?query=HookflowDistributions%20%3D%20%27distr_1%27%20AND%20WorkflowType%20%3D%20%27Delivery%27\n"},
		{name: "bad status", args: []string{"--status", "lost"}, wantErr: "--status:"},
		{name: "bad event type", args: []string{"--event-type", "Not A Type"}, wantErr: "--event-type:"},
		{name: "bad since", args: []string{"--since", "yesterday"}, wantErr: "--since"},
		{name: "bad UI URL", args: []string{"--ui-url", "temporal.example.com"}, wantErr: "--ui-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := h.run(append([]string{"deliveries", "list", "--web"}, tc.args...)...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || out != tc.want {
				t.Errorf("got %q, %v\nwant %q", out, err, tc.want)
			}
		})
	}
	// The help says where --ui-url points by default.
	out, _, err := h.run("deliveries", "list", "--help")
	if err != nil || !strings.Contains(out, "--ui-url") || !strings.Contains(out, "where hookflow dev serves it") ||
		!strings.Contains(out, "http://127.0.0.1:8233") {
		t.Errorf("help: %v\n%s", err, out)
	}
}
