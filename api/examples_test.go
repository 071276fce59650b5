package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleFiles: the customer and code files under examples/, which the README's tour
// sends (messages send -f, codes import -f), pass the parsers of the routes they
// are sent to, every row or line taken. cli's TestExamplesApply sends them through the CLI.
func TestExampleFiles(t *testing.T) {
	files, err := filepath.Glob("../examples/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	checked := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(strings.TrimSpace(string(raw)), "\n") + 1
		switch filepath.Ext(file) {
		case ".csv":
			checked++
			req, problem := parseCustomers("text/csv", raw)
			if problem != nil {
				t.Errorf("%s as the customers of a message: %+v", file, *problem)
			} else if len(req.customers) != lines-1 {
				t.Errorf("%s: %d customers of %d rows", file, len(req.customers), lines-1)
			}
		case ".txt":
			checked++
			codes, problem := parseCodeLines(raw)
			if problem != nil {
				t.Errorf("%s as codes: %+v", file, *problem)
			} else if len(codes) != lines {
				t.Errorf("%s: %d codes of %d lines", file, len(codes), lines)
			}
		}
	}
	if checked < 2 {
		t.Errorf("checked %d files; want the customers and the codes of the README", checked)
	}
}
