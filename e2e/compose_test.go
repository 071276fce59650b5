package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/workflows"
)

type composeFile struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Command any      `yaml:"command"`
		Ports   []string `yaml:"ports"`
	} `yaml:"services"`
}

// moduleVersion is the version of a Go module that go.mod requires, without its v: a test
// binary carries no list of the modules it was built with (TestVersion checks that the
// hookflow binary is built with the versions go.mod requires).
func moduleVersion(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimPrefix(requiredVersion(t, path), "v")
}

// TestComposeAgreesWithTheCode keeps docker-compose.yml in step with the code: image
// versions with the Go modules, ports with the defaults, search attributes with the
// workflow's.
func TestComposeAgreesWithTheCode(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(moduleRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	server := moduleVersion(t, "go.temporal.io/server")
	ui := moduleVersion(t, "github.com/temporalio/ui-server/v2")
	for name, want := range map[string]string{
		"temporal":           "temporalio/server:" + server,
		"temporal-schema":    "temporalio/admin-tools:" + server,
		"temporal-namespace": "temporalio/admin-tools:" + server,
		"temporal-ui":        "temporalio/ui:" + ui,
	} {
		if got := c.Services[name].Image; got != want {
			t.Errorf("service %s: image %q, want %q (the Go modules' versions)", name, got, want)
		}
	}
	_, apiPort, _ := net.SplitHostPort(app.DefaultAPIAddr)
	_, healthPort, _ := net.SplitHostPort(app.DefaultHealthAddr)
	_, temporalPort, _ := net.SplitHostPort(app.DefaultTemporalAddress)
	if p := c.Services["hookflow-api"].Ports; len(p) != 1 || p[0] != apiPort+":"+apiPort {
		t.Errorf("hookflow-api ports %v, want %s", p, apiPort)
	}
	if p := c.Services["temporal"].Ports; len(p) != 1 || p[0] != temporalPort+":"+temporalPort {
		t.Errorf("temporal ports %v, want %s", p, temporalPort)
	}
	if cmd := strings.Join(asStrings(c.Services["hookflow-worker"].Command), " "); !strings.Contains(cmd, "0.0.0.0:"+healthPort) {
		t.Errorf("hookflow-worker command %q does not serve health on %s", cmd, healthPort)
	}
	// Metrics on their default ports, open to the compose network only: the api publishes
	// its API port alone (checked above).
	for service, addr := range map[string]string{"hookflow-api": app.DefaultAPIMetricsAddr, "hookflow-worker": app.DefaultWorkerMetricsAddr} {
		_, port, _ := net.SplitHostPort(addr)
		if cmd := strings.Join(asStrings(c.Services[service].Command), " "); !strings.Contains(cmd, "--metrics-listen 0.0.0.0:"+port) {
			t.Errorf("%s command %q does not serve metrics on %s", service, cmd, port)
		}
	}
	ns := strings.Join(asStrings(c.Services["temporal-namespace"].Command), "\n")
	for name, typ := range workflows.SearchAttributes {
		want := "--name " + name + " --type " + map[enumspb.IndexedValueType]string{
			enumspb.INDEXED_VALUE_TYPE_KEYWORD:      "Keyword",
			enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
		}[typ]
		if !strings.Contains(ns+"\n", want+" ") && !strings.Contains(ns+"\n", want+"\n") {
			t.Errorf("the namespace job does not register %s", want)
		}
	}
	if n := strings.Count(ns, "search-attribute create"); n != len(workflows.SearchAttributes) {
		t.Errorf("the namespace job registers %d search attributes, the code has %d", n, len(workflows.SearchAttributes))
	}
}

// TestComposeConfig validates docker-compose.yml with Debian's docker-compose, which needs
// no engine. CI installs it.
func TestComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (apt-get install docker-compose); .ci/run installs it")
	}
	out, err := exec.Command(bin, "-f", filepath.Join(moduleRoot, "docker-compose.yml"), "config", "-q").CombinedOutput()
	if err != nil {
		t.Errorf("docker-compose config: %v\n%s", err, out)
	}
}

func asStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
