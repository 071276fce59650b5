package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

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

// TestTemporalTLS: the TLS flags build the client's TLS settings, and an API key turns
// TLS on.
func TestTemporalTLS(t *testing.T) {
	o := temporalFlags{}
	if cfg, err := o.tlsConfig(); cfg != nil || err != nil {
		t.Errorf("no TLS flags: %v, %v", cfg, err)
	}
	o = temporalFlags{apiKey: "key", address: "ns.acct.tmprl.cloud:7233"}
	opts, err := o.clientOptions(nil)
	if err != nil || opts.ConnectionOptions.TLS == nil || opts.Credentials == nil {
		t.Errorf("API key: TLS %v, credentials %v, %v", opts.ConnectionOptions.TLS, opts.Credentials, err)
	}
	o = temporalFlags{tlsServerName: "temporal.internal"}
	if cfg, err := o.tlsConfig(); err != nil || cfg == nil || cfg.ServerName != "temporal.internal" {
		t.Errorf("server name: %v, %v", cfg, err)
	}
	o = temporalFlags{tlsCert: "cert.pem"}
	if _, err := o.tlsConfig(); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("cert without key: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, ca, "not a certificate")
	o = temporalFlags{tlsCA: ca}
	if _, err := o.tlsConfig(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA: %v", err)
	}
}

// TestVersion runs `hookflow version`: hookflow's version (dev unless set by -ldflags), Go's,
// and the Temporal modules' as go.mod requires them.
func TestVersion(t *testing.T) {
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	required := func(module string) string {
		m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + ` (v\S+)`).FindSubmatch(gomod)
		if m == nil {
			t.Fatalf("go.mod does not require %s", module)
		}
		return string(m[1])
	}
	cmd := exec.Command(os.Args[0], "version")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hookflow version: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"hookflow dev\n",
		"Go               go1.",
		"Temporal SDK     " + required("go.temporal.io/sdk") + "\n",
		"Temporal server  " + required("go.temporal.io/server") + "\n",
		"Temporal API     " + required("go.temporal.io/api") + "\n",
		"Temporal UI      " + required("github.com/temporalio/ui-server/v2") + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("hookflow version lacks %q:\n%s", want, text)
		}
	}

	cmd = exec.Command(os.Args[0], "version", "-o", "json")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if out, err = cmd.Output(); err != nil {
		t.Fatalf("hookflow version -o json: %v", err)
	}
	var v versionInfo
	mustJSON(t, out, &v)
	if v.Version != "dev" || v.TemporalServer != required("go.temporal.io/server") || !strings.HasPrefix(v.Go, "go1.") {
		t.Errorf("hookflow version -o json: %+v", v)
	}
}
