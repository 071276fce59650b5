package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const modulePath = "github.com/hookflow/hookflow"

// packageOrder is the design's package table, top to bottom: a package may import only the
// packages above it. e2e holds tests only; internal/pgtest, internal/browsertest and
// internal/testcerts are helpers of tests, which only test files may import; "" is main, the module's root.
// client is the Go client of the HTTP API, which programs import and the CLI uses: the
// standard library only, so that a program that imports it compiles no Temporal.
var packageOrder = []string{
	"payloads", "distributions", "store", "workflows", "codec", "activities", "worker", "starter",
	"deliverylog", "api", "devserver", "metrics", "app", "bench", "client", "cli", "e2e", "internal/pgtest", "internal/browsertest", "internal/testcerts", "",
}

// ioPackages are the standard library's packages for I/O, which the pure packages
// (distributions, workflows) do without; a package under one of them (net/http/httptest,
// os/signal, database/sql/driver, ...) counts too, except under net, whose net/url,
// net/mail and net/netip only parse.
var ioPackages = []string{"net", "net/http", "os", "os/exec", "database/sql", "io/fs", "syscall"}

func isIOPackage(path string) bool {
	for _, p := range ioPackages {
		if path == p || p != "net" && strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// listedPackage is what TestPackageArrows reads of `go list -json`.
type listedPackage struct {
	ImportPath string
	Imports    []string // of the package's non-test files
	Error      *struct{ Err string }
}

// TestPackageArrows reads the module's packages with `go list` and fails on a non-test
// import that breaks the design's package table: (a) a hookflow package imports only
// hookflow packages above it in packageOrder; (b) payloads imports the standard library
// only, and so does client; (c) distributions and workflows import no I/O package of the
// standard library, nor the store, activities, starter, deliverylog, api or app; (d)
// nothing but main imports cli (the tests of e2e do, as test imports); (e) the module's
// root holds no Go file but main.go.
func TestPackageArrows(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if testing.Short() {
			t.Skip("go is not on the PATH")
		}
		t.Fatalf("go is not on the PATH: %v", err)
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(goList(t, "-json=ImportPath,Imports,Error", "./..."))); ; {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list -json: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	std := map[string]bool{}
	for _, p := range strings.Fields(string(goList(t, "std"))) {
		std[p] = true
	}
	if len(pkgs) == 0 || !std["net/http"] {
		t.Fatalf("go list found %d packages of the module, and net/http is standard: %v", len(pkgs), std["net/http"])
	}
	if v := checkArrows(pkgs, std); len(v) > 0 {
		t.Errorf("imports that break the package table of the design (a package imports only those above it):\n  %s", strings.Join(v, "\n  "))
	}

	entries, err := os.ReadDir(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") && e.Name() != "main.go" {
			t.Errorf("the module's root holds %s: it holds main.go only (the commands are in cli, the processes in app, the end-to-end tests in e2e)", e.Name())
		}
	}
}

// goList runs `go list args...` in the module's root and returns its output.
func goList(t *testing.T, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = moduleRoot
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// checkArrows returns a line for every import of pkgs that breaks rules (a) to (d) of
// TestPackageArrows, and for every package of the module that the table does not hold;
// std holds the standard library's packages.
func checkArrows(pkgs []listedPackage, std map[string]bool) []string {
	var bad []string
	rel := func(path string) (string, bool) {
		if path == modulePath {
			return "", true
		}
		r, ok := strings.CutPrefix(path, modulePath+"/")
		return r, ok
	}
	name := func(r string) string {
		if r == "" {
			return "main (the module's root)"
		}
		return r
	}
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		at := slices.Index(packageOrder, from)
		if at < 0 {
			bad = append(bad, fmt.Sprintf("%s is not in the package table: add it where it belongs", name(from)))
			continue
		}
		for _, imp := range p.Imports {
			to, own := rel(imp)
			why := ""
			switch {
			case own && to == "cli" && from != "":
				why = "only main imports cli"
			case own && slices.Index(packageOrder, to) < 0:
				why = to + " is not in the package table"
			case own && slices.Index(packageOrder, to) >= at:
				why = "a package imports only those above it in the table"
			case from == "payloads" && !std[imp]:
				why = "payloads imports the standard library only"
			case from == "client" && !std[imp]:
				why = "client imports the standard library only: a program that imports it compiles no Temporal"
			case (from == "distributions" || from == "workflows") && std[imp] && isIOPackage(imp):
				why = from + " does no I/O: it imports none of " + strings.Join(ioPackages, ", ")
			case (from == "distributions" || from == "workflows") && own &&
				slices.Contains([]string{"store", "activities", "starter", "deliverylog", "api", "app"}, to):
				why = from + " imports none of store, activities, starter, deliverylog, api, app"
			}
			if why != "" {
				bad = append(bad, fmt.Sprintf("%s imports %s: %s", name(from), imp, why))
			}
		}
	}
	return bad
}

// TestCheckArrowsClient: the client may import the standard library alone; the Temporal SDK
// or a package of hookflow's server is a break of the table, which checkArrows reports.
func TestCheckArrowsClient(t *testing.T) {
	std := map[string]bool{"net/http": true, "iter": true}
	cases := []struct {
		imports []string
		broken  bool
	}{
		{imports: []string{"net/http", "iter"}},
		{imports: []string{"go.temporal.io/sdk/client"}, broken: true},
		{imports: []string{modulePath + "/api"}, broken: true},
		{imports: []string{modulePath + "/payloads"}, broken: true},
	}
	for _, c := range cases {
		bad := checkArrows([]listedPackage{{ImportPath: modulePath + "/client", Imports: c.imports}}, std)
		if (len(bad) > 0) != c.broken {
			t.Errorf("client importing %v: %q; want broken %v", c.imports, bad, c.broken)
		}
	}
	bad := checkArrows([]listedPackage{{ImportPath: modulePath + "/cli", Imports: []string{modulePath + "/client"}}}, std)
	if len(bad) > 0 {
		t.Errorf("cli importing client: %q; want allowed", bad)
	}
}
