package cli

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/codec"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// testFlags is a flag set like a command's, with one flag per source of its value.
type testFlags struct {
	fromFlag, fromEnv, fromFile, fromDefault string
	list                                     []string
	port                                     int
	wait                                     time.Duration
	on                                       bool
	fs                                       *pflag.FlagSet
}

func newTestFlags() *testFlags {
	f := &testFlags{fs: pflag.NewFlagSet("test", pflag.ContinueOnError)}
	f.fs.StringVar(&f.fromFlag, "from-flag", "default", "")
	f.fs.StringVar(&f.fromEnv, "from-env", "default", "")
	f.fs.StringVar(&f.fromFile, "from-file", "default", "")
	f.fs.StringVar(&f.fromDefault, "from-default", "default", "")
	f.fs.StringArrayVar(&f.list, "allow-target", []string{"default"}, "")
	f.fs.IntVar(&f.port, "port", 1, "")
	f.fs.DurationVar(&f.wait, "wait", time.Second, "")
	f.fs.BoolVar(&f.on, "on", false, "")
	f.fs.String(configFlag, "", "")
	return f
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestConfigPrecedence: a flag on the command line beats its variable, which beats the
// config file, which beats the default.
func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hookflow.yaml")
	writeFile(t, file, `
from-flag: file
from-env: file
from-file: file
allow-target: [10.0.0.0/8, 192.168.0.0/16]
port: 7233
wait: 30s
on: true
other-process-key: ignored
`)
	f := newTestFlags()
	if err := f.fs.Parse([]string{"--from-flag", "flag", "--config", file}); err != nil {
		t.Fatal(err)
	}
	env := envMap(map[string]string{
		"HOOKFLOW_FROM_FLAG": "env",
		"HOOKFLOW_FROM_ENV":  "env",
		"HOOKFLOW_PORT":      "", // empty: unset
	})
	if err := loadConfig(f.fs, env, map[string]bool{"other-process-key": true}); err != nil {
		t.Fatal(err)
	}
	got := []string{f.fromFlag, f.fromEnv, f.fromFile, f.fromDefault}
	if want := []string{"flag", "env", "file", "default"}; !reflect.DeepEqual(got, want) {
		t.Errorf("from flag, env, file, default: %q, want %q", got, want)
	}
	if want := []string{"10.0.0.0/8", "192.168.0.0/16"}; !reflect.DeepEqual(f.list, want) {
		t.Errorf("list from the file: %q, want %q", f.list, want)
	}
	if f.port != 7233 || f.wait != 30*time.Second || !f.on {
		t.Errorf("port %d, wait %v, on %v from the file", f.port, f.wait, f.on)
	}
}

// TestConfigEnvironment: HOOKFLOW_CONFIG names the file when --config does not; a
// repeatable flag's variable holds comma-separated values and replaces the file's list.
func TestConfigEnvironment(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hookflow.yaml")
	writeFile(t, file, "from-file: file\nallow-target: 10.0.0.0/8\n")
	f := newTestFlags()
	if err := f.fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	env := envMap(map[string]string{
		"HOOKFLOW_CONFIG":       file,
		"HOOKFLOW_ALLOW_TARGET": "127.0.0.0/8,::1/128",
	})
	if err := loadConfig(f.fs, env, nil); err != nil {
		t.Fatal(err)
	}
	if f.fromFile != "file" {
		t.Errorf("HOOKFLOW_CONFIG's file not read: %q", f.fromFile)
	}
	if want := []string{"127.0.0.0/8", "::1/128"}; !reflect.DeepEqual(f.list, want) {
		t.Errorf("list from the environment: %q, want %q", f.list, want)
	}

	// A repeated flag on the command line beats the variable and the file.
	f = newTestFlags()
	if err := f.fs.Parse([]string{"--allow-target", "a", "--allow-target", "b"}); err != nil {
		t.Fatal(err)
	}
	if err := loadConfig(f.fs, env, nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !reflect.DeepEqual(f.list, want) {
		t.Errorf("list from flags: %q, want %q", f.list, want)
	}
}

// TestConfigErrors: a bad value names where it came from, and an unknown key in the file
// is an error rather than a setting silently ignored.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{"bad env value", "", map[string]string{"HOOKFLOW_PORT": "x"}, `HOOKFLOW_PORT="x"`},
		{"bad file value", "port: x\n", nil, "port"},
		{"unknown key", "temporal-adress: x\n", nil, "unknown key temporal-adress"},
		{"config in the file", "config: other.yaml\n", nil, "unknown key config"},
		{"list for one value", "from-file: [a, b]\n", nil, "takes one value"},
		{"mapping", "from-file: {a: b}\n", nil, "want a value or a list"},
		{"not a mapping", "- a\n", nil, "want a mapping"},
		{"missing file", "", map[string]string{"HOOKFLOW_CONFIG": filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range c.env {
				env[k] = v
			}
			if c.file != "" {
				path := filepath.Join(dir, strings.Repeat("x", i+1)+".yaml")
				writeFile(t, path, c.file)
				env["HOOKFLOW_CONFIG"] = path
			}
			f := newTestFlags()
			if err := f.fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			err := loadConfig(f.fs, envMap(env), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one with %q", err, c.want)
			}
		})
	}
}

// TestServiceConfigKeys: one config file serves the server, the worker and the api, so
// each accepts the others' keys.
func TestServiceConfigKeys(t *testing.T) {
	keys := serviceConfigKeys()
	for _, k := range []string{"temporal-database-url", "ui-port", "health", "allow-target", "http", "temporal-address", "tls-ca", "temporal-api-key"} {
		if !keys[k] {
			t.Errorf("%s is not a service config key", k)
		}
	}
	if keys[configFlag] || keys["api"] {
		t.Errorf("config or the client's api flag are service config keys: %v", keys)
	}
}

// TestEncryptionKeyConfig: --encryption-key comes from the flag (repeated or
// comma-separated), HOOKFLOW_ENCRYPTION_KEY (comma-separated) or a list in the config file,
// every long-running command that talks to Temporal has it, and it never shows its value.
func TestEncryptionKeyConfig(t *testing.T) {
	k1 := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := "k2:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	ids := func(specs []string) string {
		t.Helper()
		keys, err := codec.ParseKeys("--encryption-key", specs...)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, key := range keys {
			out = append(out, key.ID)
		}
		return strings.Join(out, ",")
	}
	for _, name := range []string{"worker", "api", "dev"} {
		cmd, _, err := newRootCommand(envMap(nil)).Find([]string{name})
		if err != nil || cmd.Flags().Lookup("encryption-key") == nil {
			t.Errorf("hookflow %s has no --encryption-key: %v", name, err)
		}
	}
	if !serviceConfigKeys()["encryption-key"] || !serviceConfigKeys()["ui-url"] {
		t.Error("encryption-key or ui-url is not a service config key")
	}

	var o app.TemporalConfig
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	registerTemporalFlags(fs, &o)
	fs.String(configFlag, "", "")
	if err := fs.Parse([]string{"--encryption-key", k2 + "," + k1}); err != nil {
		t.Fatal(err)
	}
	if got := ids(o.EncryptionKeys); got != "k2,k1" {
		t.Errorf("from the flag: %s", got)
	}
	if s := fs.Lookup("encryption-key").Value.String(); strings.Contains(s, k1[3:]) || s != "<redacted>" {
		t.Errorf("the flag shows %q", s)
	}

	o = app.TemporalConfig{}
	fs = pflag.NewFlagSet("test", pflag.ContinueOnError)
	registerTemporalFlags(fs, &o)
	fs.String(configFlag, "", "")
	_ = fs.Parse(nil)
	if err := loadConfig(fs, envMap(map[string]string{"HOOKFLOW_ENCRYPTION_KEY": k1 + "," + k2}), nil); err != nil {
		t.Fatal(err)
	}
	if got := ids(o.EncryptionKeys); got != "k1,k2" {
		t.Errorf("from the environment: %s", got)
	}
	opts, err := o.ClientOptions(nil)
	if err != nil || opts.DataConverter == codec.DataConverter || opts.FailureConverter == nil {
		t.Errorf("the client does not encrypt: %v", err)
	}

	file := filepath.Join(t.TempDir(), "hookflow.yaml")
	writeFile(t, file, "encryption-key:\n  - "+k2+"\n  - "+k1+"\n")
	o = app.TemporalConfig{}
	fs = pflag.NewFlagSet("test", pflag.ContinueOnError)
	registerTemporalFlags(fs, &o)
	fs.String(configFlag, "", "")
	_ = fs.Parse([]string{"--config", file})
	if err := loadConfig(fs, envMap(nil), nil); err != nil {
		t.Fatal(err)
	}
	if got := ids(o.EncryptionKeys); got != "k2,k1" {
		t.Errorf("from the config file: %s", got)
	}

	// A bad key fails the client's options with the flag's name, not the key.
	o = app.TemporalConfig{EncryptionKeys: []string{"k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16))}}
	if _, err := o.ClientOptions(nil); err == nil || !strings.Contains(err.Error(), "--encryption-key: key 1 (id \"k1\"): 16 bytes, want 32") {
		t.Errorf("bad key: %v", err)
	}
	if opts, err := (app.TemporalConfig{}).ClientOptions(nil); err != nil || opts.DataConverter != codec.DataConverter || opts.FailureConverter != nil {
		t.Errorf("without a key: %v", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStoreRetentionSettings: dev and worker take --store-retention as their other
// settings, flag > HOOKFLOW_STORE_RETENTION > --config file, with 30 days by default; a
// retention under a day is refused before anything starts, naming the flag. One config file
// serves them all, so server and api accept the key too.
func TestStoreRetentionSettings(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, cmd := range []*cobra.Command{newDevCommand(getenv), newWorkerCommand(getenv)} {
		f := cmd.Flags().Lookup("store-retention")
		if f == nil || f.DefValue != (30*24*time.Hour).String() {
			t.Errorf("%s --store-retention: %+v, want a flag defaulting to 30 days", cmd.Name(), f)
		}
	}
	if !serviceConfigKeys()["store-retention"] {
		t.Error("store-retention is not a service config key")
	}

	file := filepath.Join(t.TempDir(), "hookflow.yaml")
	writeFile(t, file, "store-retention: 2h\n")
	dbURL := filepath.Join(t.TempDir(), "hookflow.db")
	h := &harness{t: t, env: map[string]string{"HOOKFLOW_CONFIG": file}}
	for _, args := range [][]string{{"dev", "--data-dir", t.TempDir()}, {"worker", "--database-url", dbURL}} {
		h.env = map[string]string{"HOOKFLOW_CONFIG": file}
		if _, _, err := h.run(args...); err == nil || !strings.Contains(err.Error(), "--store-retention 2h0m0s") {
			t.Errorf("%s, from the file: %v", args[0], err)
		}
		h.env["HOOKFLOW_STORE_RETENTION"] = "3h"
		if _, _, err := h.run(args...); err == nil || !strings.Contains(err.Error(), "--store-retention 3h0m0s") {
			t.Errorf("%s, the variable over the file: %v", args[0], err)
		}
		if _, _, err := h.run(append(args, "--store-retention", "4h")...); err == nil || !strings.Contains(err.Error(), "--store-retention 4h0m0s") {
			t.Errorf("%s, the flag over the variable: %v", args[0], err)
		}
	}
}

// TestRetentionSettings: dev, like server, takes --retention (24 h by default) as its other
// settings, and both refuse one Temporal would refuse before anything starts, naming the
// flag.
func TestRetentionSettings(t *testing.T) {
	getenv := func(string) string { return "" }
	for _, cmd := range []*cobra.Command{newDevCommand(getenv), newServerCommand(getenv)} {
		f := cmd.Flags().Lookup("retention")
		if f == nil || f.DefValue != (24*time.Hour).String() {
			t.Errorf("%s --retention: %+v, want a flag defaulting to 24h", cmd.Name(), f)
		}
	}
	file := filepath.Join(t.TempDir(), "hookflow.yaml")
	writeFile(t, file, "retention: 30m\n")
	h := &harness{t: t}
	for _, args := range [][]string{{"dev", "--data-dir", t.TempDir()}, {"server", "--data-dir", t.TempDir()}} {
		h.env = map[string]string{"HOOKFLOW_CONFIG": file}
		if _, _, err := h.run(args...); err == nil || !strings.Contains(err.Error(), "--retention 30m0s") {
			t.Errorf("%s, from the file: %v", args[0], err)
		}
		h.env["HOOKFLOW_RETENTION"] = "20m"
		if _, _, err := h.run(args...); err == nil || !strings.Contains(err.Error(), "--retention 20m0s") {
			t.Errorf("%s, the variable over the file: %v", args[0], err)
		}
	}
}
