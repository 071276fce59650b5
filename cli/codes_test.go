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

	out, err := run("", "text", "import", "camp_1", "-f", write("codes.txt", "A\nB\r\n\nC\nA\n"))
	if err != nil || !strings.Contains(out, "imported 3 code(s) into campaign camp_1, 1 duplicate(s) skipped") ||
		!strings.Contains(out, "camp_1    3      0          3") {
		t.Errorf("import text: %v\n%s", err, out)
	}
	// A .csv file is read as CSV: its code column, not its first.
	out, err = run("", "json", "import", "camp_1", "-f", write("export.csv", "note,code\nx,D\ny,A\n"))
	var imported api.ImportedCodes
	if err != nil || json.Unmarshal([]byte(out), &imported) != nil ||
		imported != (api.ImportedCodes{Added: 1, Duplicates: 1, Stats: store.CodeStats{Campaign: "camp_1", Total: 4, Available: 4}}) {
		t.Errorf("import csv -o json: %v\n%s", err, out)
	}
	if out, err = run("E\nF\n", "text", "import", "camp_1", "-f", "-"); err != nil || !strings.Contains(out, "imported 2 code(s)") {
		t.Errorf("import from stdin: %v\n%s", err, out)
	}
	// --format csv for a file not named .csv; lines for a .csv file that is a list.
	if out, err = run("", "text", "import", "camp_2", "--format", "csv", "-f", write("pool.dat", "code\nG\n")); err != nil || !strings.Contains(out, "imported 1 code(s)") {
		t.Errorf("--format csv: %v\n%s", err, out)
	}
	if out, err = run("", "text", "import", "camp_2", "--format", "lines", "-f", write("list.csv", "H\nI\n")); err != nil || !strings.Contains(out, "imported 2 code(s)") {
		t.Errorf("--format lines: %v\n%s", err, out)
	}

	out, err = run("", "text", "stats", "camp_1")
	if err != nil || out != "CAMPAIGN  TOTAL  PUBLISHED  AVAILABLE\ncamp_1    6      0          6\n" {
		t.Errorf("stats: %v\n%q", err, out)
	}
	out, err = run("", "json", "stats", "camp_unknown")
	var stats store.CodeStats
	if err != nil || json.Unmarshal([]byte(out), &stats) != nil || stats != (store.CodeStats{Campaign: "camp_unknown"}) {
		t.Errorf("stats -o json: %v\n%s", err, out)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"import", "-f", write("x.txt", "A\n")}, "missing CAMPAIGN_ID: hookflow codes import CAMPAIGN_ID"},
		{[]string{"import", "", "-f", write("x.txt", "A\n")}, "CAMPAIGN_ID is empty"},
		{[]string{"import", "camp 1", "-f", write("y.txt", "A\n")}, `CAMPAIGN_ID "camp 1": a campaign id has no whitespace`},
		{[]string{"import", "camp_1"}, "-f is required: the file of codes, or - for standard input"},
		{[]string{"import", "camp_1", write("v.txt", "A\n")}, "the file goes after -f: hookflow codes import camp_1 -f " + filepath.Join(dir, "v.txt")},
		{[]string{"import", "camp_1", "-f", "a.txt", "b.txt"}, `hookflow codes import takes CAMPAIGN_ID, and was given also ["b.txt"]`},
		{[]string{"import", "camp_1", "-f", filepath.Join(dir, "missing.txt")}, "no such file"},
		{[]string{"import", "camp_1", "-f", dir}, "is a directory"},
		{[]string{"import", "camp_1", "-f", write("empty.txt", "\n\n")}, "empty.txt holds no codes"},
		{[]string{"import", "camp_1", "--format", "xml", "-f", write("z.txt", "A\n")}, `--format "xml": use lines, csv or auto`},
		{[]string{"import", "camp_1", "-f", write("bad.txt", "OK\nNOT OK\n")}, `422 validation_error: line 2: the code "NOT OK" contains whitespace`},
		{[]string{"import", "camp_1", "-f", write("bad.csv", "voucher\nA\n")}, "422 validation_error: line 1: the CSV header has no code column"},
		{[]string{"import", "camp_1", "--bogus", "-f", write("w.txt", "A\n")}, "unknown flag --bogus for hookflow codes import"},
		{[]string{"stats"}, "missing CAMPAIGN_ID: hookflow codes stats CAMPAIGN_ID"},
		{[]string{"stats", "camp_1", "extra"}, `hookflow codes stats takes CAMPAIGN_ID, and was given also ["extra"]`},
		// The deprecated forms, kept for one release.
		{[]string{"import", "--campaign", "camp_1"}, "give one FILE: hookflow codes import CAMPAIGN_ID -f FILE"},
		{[]string{"import", "--campaign", "camp_1", "a.txt", "b.txt"}, "give one FILE"},
		{[]string{"import", "--campaign", "camp 1", write("u.txt", "A\n")}, `--campaign "camp 1": a campaign id has no whitespace`},
		{[]string{"stats", "--campaign", "camp_1", "extra"}, "give the campaign once: hookflow codes stats CAMPAIGN_ID"},
	}
	for _, tt := range bad {
		if _, err := run("", "text", tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
	if _, err := run("   \n", "text", "import", "camp_1", "-f", "-"); err == nil || !strings.Contains(err.Error(), "standard input holds no codes") {
		t.Errorf("empty stdin: %v", err)
	}
	if st, _ := st.CodeStats(t.Context(), "camp_1"); st.Total != 6 {
		t.Errorf("refused imports changed the pool: %+v", st)
	}
	big := write("big.txt", strings.Repeat("A", api.MaxCodesBytes+1))
	if _, err := run("", "text", "import", "camp_1", "-f", big); err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Errorf("too large: %v", err)
	}
}

// The forms of before the CAMPAIGN_ID argument, --campaign ID FILE and --campaign ID, work
// for one release, and say on standard error what to write instead; standard output stays
// the command's, so -o json still reads.
func TestCodesDeprecatedCampaignFlag(t *testing.T) {
	h, _ := newHarness(t, &api.Server{})
	file := filepath.Join(t.TempDir(), "codes.txt")
	if err := os.WriteFile(file, []byte("A\nB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := h.run("codes", "import", "--campaign", "camp_old", file, "-o", "json")
	var imported api.ImportedCodes
	if err != nil || json.Unmarshal([]byte(out), &imported) != nil || imported.Added != 2 || imported.Stats.Campaign != "camp_old" {
		t.Errorf("import --campaign ID FILE: %v\n%s", err, out)
	}
	if want := "Flag --campaign has been deprecated, use `hookflow codes import CAMPAIGN_ID -f FILE` instead\n"; errOut != want {
		t.Errorf("import --campaign: stderr %q, want %q", errOut, want)
	}
	// Standard input, and the file as -f, with the old flag.
	out, errOut, err = h.runWithInput("C\n", "codes", "import", "--campaign", "camp_old", "-f", "-")
	if err != nil || !strings.Contains(out, "imported 1 code(s) into campaign camp_old") || !strings.Contains(errOut, "deprecated") {
		t.Errorf("import --campaign ID -f -: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err = h.run("codes", "stats", "--campaign", "camp_old", "-o", "json")
	var stats store.CodeStats
	if err != nil || json.Unmarshal([]byte(out), &stats) != nil || stats != (store.CodeStats{Campaign: "camp_old", Total: 3, Available: 3}) {
		t.Errorf("stats --campaign ID: %v\n%s", err, out)
	}
	if want := "Flag --campaign has been deprecated, use `hookflow codes stats CAMPAIGN_ID` instead\n"; errOut != want {
		t.Errorf("stats --campaign: stderr %q, want %q", errOut, want)
	}
	// Hidden from the help, which shows the new form.
	out, _, _ = h.run("codes", "import", "--help")
	if strings.Contains(out, "--campaign") || !strings.Contains(out, "hookflow codes import CAMPAIGN_ID -f FILE") {
		t.Errorf("help:\n%s", out)
	}
	// The new form prints nothing on standard error.
	if _, errOut, err = h.run("codes", "stats", "camp_old"); err != nil || errOut != "" {
		t.Errorf("stats CAMPAIGN_ID: %v, stderr %q", err, errOut)
	}
}
