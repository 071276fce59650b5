package e2e

import (
	"fmt"
	"os"
	"testing"
)

// reportEnv names a file that report appends to: go test shows no log of a passing test, and
// CI prints this file after the tests, so that the fault tests' accounting is in its output.
const reportEnv = "HOOKFLOW_TEST_REPORT"

// report logs a line of a test's accounting, and appends it, with the test's name, to the
// file that HOOKFLOW_TEST_REPORT names.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	name := os.Getenv(reportEnv)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("%s: %v", reportEnv, err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s: %s\n", t.Name(), line); err != nil {
		t.Errorf("%s: %v", reportEnv, err)
	}
}
