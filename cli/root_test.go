package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestOutputRefused: -o on a command that prints no data (a process that runs until
// stopped) is an error that names --output, an unknown format too; the commands that print
// data take every format (TestOutputHonoured, TestOutputEveryCommand).
func TestOutputRefused(t *testing.T) {
	h := &harness{t: t, env: map[string]string{}}
	for _, args := range [][]string{
		{"dev", "-o", "json"},
		{"server", "-o", "yaml"},
		{"worker", "--output", "json"},
		{"api", "-o", "jsonl"},
		{"receive", "-o", "json"},
	} {
		if _, _, err := h.run(args...); err == nil || !strings.Contains(err.Error(), "--output: hookflow "+args[0]+" prints no data") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, _, err := h.run("distributions", "list", "-o", "csv"); err == nil || !strings.Contains(err.Error(), `--output "csv": use text, json, jsonl, yaml`) {
		t.Errorf("-o csv: %v", err)
	}
}

// TestHelpShowsNoSecret: with every HOOKFLOW_* variable that can hold a credential set,
// no command's --help prints one (they used to show as flag defaults).
func TestHelpShowsNoSecret(t *testing.T) {
	const secret = "PASSWORD-3f9a"
	env := map[string]string{
		"HOOKFLOW_DATABASE_URL":          "postgres://hook:" + secret + "@db:5432/hookflow",
		"HOOKFLOW_TEMPORAL_DATABASE_URL": "postgres://temporal:" + secret + "@db:5432/temporal",
		"HOOKFLOW_SMTP_URL":              "smtp://mail:" + secret + "@mail:587",
		"HOOKFLOW_API_KEY":               "hfk_" + secret,
		"HOOKFLOW_TEMPORAL_API_KEY":      secret,
		"HOOKFLOW_ENCRYPTION_KEY":        "k1:" + secret,
		"HOOKFLOW_SECRET":                "whsec_" + secret,
		"HOOKFLOW_API":                   "http://u:" + secret + "@127.0.0.1:7280",
	}
	h := &harness{t: t, env: env}
	var paths [][]string
	var walk func(cmd *cobra.Command, path []string)
	walk = func(cmd *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range cmd.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newRootCommand(func(k string) string { return env[k] }), nil)
	if len(paths) < 40 {
		t.Fatalf("walked %d commands; the tree has more", len(paths))
	}
	for _, path := range paths {
		out, errOut, err := h.run(append(path, "--help")...)
		if err != nil {
			t.Errorf("hookflow %v --help: %v", path, err)
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("hookflow %v --help shows a credential:\n%s", path, out)
		}
	}
}

// TestSMTPHeloSetting: dev and worker take --smtp-helo, or HOOKFLOW_SMTP_HELO, and refuse a
// name that is not one before anything starts.
func TestSMTPHeloSetting(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"dev", "--data-dir", dir, "--ui-port", "0"},
		{"worker", "--database-url", filepath.Join(dir, "hookflow.db")},
	} {
		h := &harness{t: t, env: map[string]string{"HOOKFLOW_SMTP_URL": "smtp://mail.example.com", "HOOKFLOW_SMTP_HELO": "bad name"}}
		if _, _, err := h.run(args...); err == nil || !strings.Contains(err.Error(), `--smtp-helo "bad name"`) {
			t.Errorf("%s, HOOKFLOW_SMTP_HELO: %v", args[0], err)
		}
		if _, _, err := h.run(append(args, "--smtp-helo", "bad_name")...); err == nil || !strings.Contains(err.Error(), `--smtp-helo "bad_name"`) {
			t.Errorf("%s --smtp-helo: %v", args[0], err)
		}
	}
}

// TestDevSettings: dev takes its settings as the other processes do, flag > HOOKFLOW_*
// variable > --config file; a bad value is refused before anything starts, naming the
// flag.
func TestDevSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hookflow.yaml")
	if err := os.WriteFile(file, []byte("ui-port: 70001\ntemporal-port: 70002\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, env: map[string]string{"HOOKFLOW_CONFIG": file}}
	dir := t.TempDir()
	if _, _, err := h.run("dev", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "--ui-port 70001") {
		t.Errorf("from the file: %v", err)
	}
	h.env["HOOKFLOW_UI_PORT"] = "70003"
	if _, _, err := h.run("dev", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "--ui-port 70003") {
		t.Errorf("the variable over the file: %v", err)
	}
	if _, _, err := h.run("dev", "--data-dir", dir, "--ui-port", "0"); err == nil || !strings.Contains(err.Error(), "--temporal-port 70002") {
		t.Errorf("the flag over the variable: %v", err)
	}
	h.env = map[string]string{"HOOKFLOW_HTTP": "no-port"}
	if _, _, err := h.run("dev", "--data-dir", dir, "--ui-port", "0"); err == nil || !strings.Contains(err.Error(), `--http "no-port"`) {
		t.Errorf("HOOKFLOW_HTTP: %v", err)
	}
}

// TestLogSettings: dev, server, api and worker take --log-level and --log-format, or
// HOOKFLOW_LOG_LEVEL and HOOKFLOW_LOG_FORMAT, and refuse a bad one, naming the flag, before
// anything starts.
func TestLogSettings(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hookflow.db")
	for _, args := range [][]string{
		{"dev", "--data-dir", dir, "--ui-port", "0"},
		{"server", "--data-dir", dir, "--ui-port", "0"},
		{"api", "--database-url", db},
		{"worker", "--database-url", db},
	} {
		for _, c := range []struct {
			env  map[string]string
			flag []string
			want string
		}{
			{map[string]string{"HOOKFLOW_LOG_LEVEL": "loud"}, nil, `--log-level "loud": use debug, info, warn or error`},
			{nil, []string{"--log-level", "trace"}, `--log-level "trace"`},
			{map[string]string{"HOOKFLOW_LOG_FORMAT": "xml"}, nil, `--log-format "xml"`},
			{map[string]string{"HOOKFLOW_LOG_LEVEL": "loud"}, []string{"--log-level", "warn", "--log-format", "yaml"}, `--log-format "yaml"`},
		} {
			h := &harness{t: t, env: c.env}
			if _, _, err := h.run(append(append([]string{}, args...), c.flag...)...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s %v %v: %v, want %s", args[0], c.env, c.flag, err, c.want)
			}
		}
	}
}
