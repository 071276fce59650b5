package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

func TestCodesCommand(t *testing.T) {
	h, st := newHarness(t, &api.Server{})
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(stdin, output string, args ...string) (string, error) {
		out, _, err := h.runWithInput(stdin, append(append([]string{"codes"}, args...), "-o", output)...)
		return out, err
	}

	out, err := run("", "text", "import", "--campaign", "camp_1", write("codes.txt", "A\nB\r\n\nC\nA\n"))
	if err != nil || !strings.Contains(out, "imported 3 code(s) into campaign camp_1, 1 duplicate(s) skipped") ||
		!strings.Contains(out, "camp_1    3      0          3") {
		t.Errorf("import text: %v\n%s", err, out)
	}
	// A .csv file is read as CSV: its code column, not its first.
	out, err = run("", "json", "import", "--campaign", "camp_1", write("export.csv", "note,code\nx,D\ny,A\n"))
	var imported api.ImportedCodes
	if err != nil || json.Unmarshal([]byte(out), &imported) != nil ||
		imported != (api.ImportedCodes{Added: 1, Duplicates: 1, Stats: store.CodeStats{Campaign: "camp_1", Total: 4, Available: 4}}) {
		t.Errorf("import csv -o json: %v\n%s", err, out)
	}
	if out, err = run("E\nF\n", "text", "import", "--campaign", "camp_1", "-"); err != nil || !strings.Contains(out, "imported 2 code(s)") {
		t.Errorf("import from stdin: %v\n%s", err, out)
	}
	// --format csv for a file not named .csv; lines for a .csv file that is a list.
	if out, err = run("", "text", "import", "--campaign", "camp_2", "--format", "csv", write("pool.dat", "code\nG\n")); err != nil || !strings.Contains(out, "imported 1 code(s)") {
		t.Errorf("--format csv: %v\n%s", err, out)
	}
	if out, err = run("", "text", "import", "--campaign", "camp_2", "--format", "lines", write("list.csv", "H\nI\n")); err != nil || !strings.Contains(out, "imported 2 code(s)") {
		t.Errorf("--format lines: %v\n%s", err, out)
	}

	out, err = run("", "text", "stats", "--campaign", "camp_1")
	if err != nil || out != "CAMPAIGN  TOTAL  PUBLISHED  AVAILABLE\ncamp_1    6      0          6\n" {
		t.Errorf("stats: %v\n%q", err, out)
	}
	out, err = run("", "json", "stats", "--campaign", "camp_unknown")
	var stats store.CodeStats
	if err != nil || json.Unmarshal([]byte(out), &stats) != nil || stats != (store.CodeStats{Campaign: "camp_unknown"}) {
		t.Errorf("stats -o json: %v\n%s", err, out)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"import", write("x.txt", "A\n")}, "--campaign is required"},
		{[]string{"import", "--campaign", "camp 1", write("y.txt", "A\n")}, `--campaign "camp 1": a campaign id has no whitespace`},
		{[]string{"import", "--campaign", "camp_1"}, "give one FILE, or - for standard input"},
		{[]string{"import", "--campaign", "camp_1", "a.txt", "b.txt"}, "give one FILE"},
		{[]string{"import", "--campaign", "camp_1", filepath.Join(dir, "missing.txt")}, "no such file"},
		{[]string{"import", "--campaign", "camp_1", dir}, "is a directory"},
		{[]string{"import", "--campaign", "camp_1", write("empty.txt", "\n\n")}, "empty.txt holds no codes"},
		{[]string{"import", "--campaign", "camp_1", "--format", "xml", write("z.txt", "A\n")}, `--format "xml": use lines, csv or auto`},
		{[]string{"import", "--campaign", "camp_1", write("bad.txt", "OK\nNOT OK\n")}, `422 validation_error: line 2: the code "NOT OK" contains whitespace`},
		{[]string{"import", "--campaign", "camp_1", write("bad.csv", "voucher\nA\n")}, "422 validation_error: line 1: the CSV header has no code column"},
		{[]string{"import", "--campaign", "camp_1", "--bogus", write("w.txt", "A\n")}, "unknown flag --bogus for hookflow codes import"},
		{[]string{"stats"}, "--campaign is required"},
		{[]string{"stats", "--campaign", "camp_1", "extra"}, `hookflow codes stats takes no arguments, and was given ["extra"]`},
	}
	for _, tt := range bad {
		if _, err := run("", "text", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
	if _, err := run("   \n", "text", "import", "--campaign", "camp_1", "-"); err == nil || !strings.Contains(err.Error(), "standard input holds no codes") {
		t.Errorf("empty stdin: %v", err)
	}
	if st, _ := st.CodeStats(t.Context(), "camp_1"); st.Total != 6 {
		t.Errorf("refused imports changed the pool: %+v", st)
	}
	big := write("big.txt", strings.Repeat("A", api.MaxCodesBytes+1))
	if _, err := run("", "text", "import", "--campaign", "camp_1", big); err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Errorf("too large: %v", err)
	}
}
