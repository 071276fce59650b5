package cli

import (
	"context"
	"encoding/base64"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/app"
)

// captureServices puts runners in place of the long-running processes that keep the
// config a command line made instead of running, and returns where it is kept.
func captureServices(t *testing.T) *any {
	var got any
	dev, server, api, worker := runDev, runServer, runAPI, runWorker
	t.Cleanup(func() { runDev, runServer, runAPI, runWorker = dev, server, api, worker })
	runDev = func(_ context.Context, cfg app.DevConfig, _, _ io.Writer) error { got = cfg; return nil }
	runServer = func(_ context.Context, cfg app.ServerConfig, _, _ io.Writer) error { got = cfg; return nil }
	runAPI = func(_ context.Context, cfg app.APIConfig, _, _ io.Writer) error { got = cfg; return nil }
	runWorker = func(_ context.Context, cfg app.WorkerConfig, _, _ io.Writer) error { got = cfg; return nil }
	return &got
}

// envTestValue is a value for flag f other than its default, valid for its type.
func envTestValue(f *pflag.Flag) string {
	switch f.Value.Type() {
	case "bool":
		if f.DefValue == "true" {
			return "false"
		}
		return "true"
	case "int":
		return "4242"
	case "duration":
		return "73h"
	case "keys":
		return "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	case "stringArray":
		return "198.51.100.0/24"
	}
	return "/from/" + f.Name
}

// TestEveryServiceFlagHasVariable: every flag of dev, server, api and worker can be set by
// its HOOKFLOW_* variable (docs/deploy.md: "every flag has an environment variable"), and
// the variable gives the process the same config as the flag on the command line.
func TestEveryServiceFlagHasVariable(t *testing.T) {
	got := captureServices(t)
	noEnv := func(string) string { return "" }
	configOf := func(t *testing.T, env map[string]string, args ...string) any {
		t.Helper()
		*got = nil
		root := newRootCommand(func(k string) string { return env[k] })
		root.SetArgs(args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		if err := root.ExecuteContext(t.Context()); err != nil {
			t.Fatalf("hookflow %s: %v", strings.Join(args, " "), err)
		}
		return *got
	}
	for _, cmd := range []*cobra.Command{newDevCommand(noEnv), newServerCommand(noEnv), newAPICommand(noEnv), newWorkerCommand(noEnv)} {
		name := cmd.Name()
		defaults := configOf(t, nil, name)
		n := 0
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == configFlag {
				return
			}
			n++
			value := envTestValue(f)
			fromFlag := configOf(t, nil, name, "--"+f.Name+"="+value)
			fromEnv := configOf(t, map[string]string{envName(f.Name): value}, name)
			if reflect.DeepEqual(fromFlag, defaults) {
				t.Errorf("hookflow %s --%s %s: the config is the default; the test's value does not reach it", name, f.Name, value)
			}
			if !reflect.DeepEqual(fromEnv, fromFlag) {
				t.Errorf("hookflow %s with %s=%s:\n got  %+v\n want %+v (as --%s %s)", name, envName(f.Name), value, fromEnv, fromFlag, f.Name, value)
			}
		})
		if n < 5 {
			t.Errorf("hookflow %s: only %d flags walked", name, n)
		}
	}
}
