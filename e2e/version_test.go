package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// moduleRoot is the directory of go.mod, main.go and docker-compose.yml, seen from e2e/.
const moduleRoot = ".."

// requiredVersion is the version of module that go.mod requires, with its v.
func requiredVersion(t *testing.T, module string) string {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(moduleRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + ` (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatalf("go.mod does not require %s", module)
	}
	return string(m[1])
}

// TestVersion builds hookflow as a release is built, with its version set by -ldflags (as
// the Dockerfile does), and runs `hookflow version`: that version, Go's, and the Temporal
// modules' as go.mod requires them. It builds the binary because only a binary carries the
// versions of the modules it was built with: a test binary has none.
func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hookflow binary")
	}
	const version = "v0.0.0-e2e"
	bin := filepath.Join(t.TempDir(), "hookflow")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", bin, ".")
	build.Dir = moduleRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		var stderr strings.Builder
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("hookflow %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		return string(out)
	}

	text := run("version")
	if first, _, _ := strings.Cut(text, "\n"); first != "hookflow "+version {
		t.Errorf("hookflow version's first line %q, want %q", first, "hookflow "+version)
	}
	for _, want := range []string{
		"hookflow " + version + "\n",
		"Go               go1.",
		"Temporal SDK     " + requiredVersion(t, "go.temporal.io/sdk") + "\n",
		"Temporal server  " + requiredVersion(t, "go.temporal.io/server") + "\n",
		"Temporal API     " + requiredVersion(t, "go.temporal.io/api") + "\n",
		"Temporal UI      " + requiredVersion(t, "github.com/temporalio/ui-server/v2") + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("hookflow version lacks %q:\n%s", want, text)
		}
	}

	out := run("version", "-o", "json")
	var v struct {
		Version        string `json:"version"`
		Go             string `json:"go"`
		TemporalServer string `json:"temporal_server"`
	}
	mustJSON(t, []byte(out), &v)
	if v.Version != version || v.TemporalServer != requiredVersion(t, "go.temporal.io/server") || !strings.HasPrefix(v.Go, "go1.") {
		t.Errorf("hookflow version -o json: %+v", v)
	}
}
