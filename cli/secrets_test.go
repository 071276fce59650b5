package cli

import (
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
)

// TestSecretsRotateBadExpire: an --expire the API refuses is reported with the flag, and
// the secret is not rotated.
func TestSecretsRotateBadExpire(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	before, err := st.Project(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ expire, want string }{
		{"soon", `--expire: 400 invalid_request: expire: "soon" is not a duration`},
		{"-1h", "--expire: 422 validation_error: expire: -1h0m0s is not between 0s and 720h0m0s"},
		{"9999h", "--expire: 422 validation_error: expire: 9999h0m0s is not between 0s and 720h0m0s"},
	} {
		if _, _, err := h.run("secrets", "rotate", "--expire", tc.expire); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rotate --expire %s: %v, want it to say %q", tc.expire, err, tc.want)
		}
	}
	if after, err := st.Project(t.Context()); err != nil || after.Secret != before.Secret {
		t.Errorf("a refused rotation changed the secret (%v)", err)
	}
}
