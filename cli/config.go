package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/app"
)

// The long-running commands run these with the config their flags, variables and file
// made; a test puts its own in place to see that config.
var (
	runDev    = app.RunDev
	runServer = app.RunServer
	runAPI    = app.RunAPI
	runWorker = app.RunWorker
)

// configFlag names the flag (and, as HOOKFLOW_CONFIG, the variable) that points the
// long-running commands at a YAML file whose keys are their flag names.
const configFlag = "config"

// envName is the environment variable that sets a flag: HOOKFLOW_ and the flag's name in
// upper case with _ for -, as HOOKFLOW_TEMPORAL_ADDRESS for --temporal-address.
func envName(flag string) string {
	return "HOOKFLOW_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// addConfigFlags adds --config to cmd and names, in the help of each of cmd's own flags,
// the variable that sets it. Call it after the flags are defined; loadConfig applies them.
func addConfigFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.VisitAll(func(fl *pflag.Flag) {
		fl.Usage += " (env " + envName(fl.Name) + ")"
	})
	f.String(configFlag, "", "YAML file whose keys are these flags' names; flags and HOOKFLOW_* variables override it (env HOOKFLOW_CONFIG)")
}

// loadConfig gives every flag of fs that the command line did not set its value from the
// environment, else from the config file (--config, or HOOKFLOW_CONFIG): flag >
// environment > file > default. An empty variable counts as unset. A variable of a
// repeatable flag holds its values separated by commas; in the file such a key takes a
// list or a single value. The file may also hold the keys in alsoKnown (the flags of the
// other hookflow processes, so that one file serves them all); any other key is an error,
// so that a misspelt key is not silently ignored.
func loadConfig(fs *pflag.FlagSet, getenv func(string) string, alsoKnown map[string]bool) error {
	path := getenv(envName(configFlag))
	if f := fs.Lookup(configFlag); f != nil && f.Changed {
		path = f.Value.String()
	}
	file := map[string][]string{}
	if path != "" {
		var err error
		if file, err = readConfigFile(path); err != nil {
			return err
		}
		var unknown []string
		for key := range file {
			if fs.Lookup(key) == nil && !alsoKnown[key] || key == configFlag {
				unknown = append(unknown, key)
			}
		}
		if len(unknown) > 0 {
			sort.Strings(unknown)
			return fmt.Errorf("config file %s: unknown key %s: keys are flag names such as temporal-address", path, strings.Join(unknown, ", "))
		}
	}
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == configFlag || f.Name == "help" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			values := []string{v}
			if _, ok := f.Value.(pflag.SliceValue); ok {
				values = strings.Split(v, ",")
			}
			if err := setFlag(f, values); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
			}
			return
		}
		if values, ok := file[f.Name]; ok {
			if err := setFlag(f, values); err != nil {
				errs = append(errs, fmt.Errorf("config file %s: %s: %w", path, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// readConfigFile reads a YAML mapping of flag names to a scalar or a list of scalars. The
// scalars are kept as written (yaml.Node.Value), so that 0700 or 30s reach the flag as the
// user wrote them. A key with no value is left out.
func readConfigFile(path string) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	out := map[string][]string{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: want a mapping of flag names to values: %w", path, err)
	}
	for key, node := range doc {
		switch {
		case node.Kind == yaml.ScalarNode && node.Tag == "!!null":
		case node.Kind == yaml.ScalarNode:
			out[key] = []string{node.Value}
		case node.Kind == yaml.SequenceNode:
			values := []string{}
			for _, item := range node.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("config file %s: %s (line %d): want a list of plain values", path, key, item.Line)
				}
				values = append(values, item.Value)
			}
			out[key] = values
		default:
			return nil, fmt.Errorf("config file %s: %s (line %d): want a value or a list of values", path, key, node.Line)
		}
	}
	return out, nil
}

// setFlag sets f to values: all of them for a repeatable flag, else the only one.
func setFlag(f *pflag.Flag, values []string) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		return sv.Replace(values)
	}
	if len(values) != 1 {
		return fmt.Errorf("takes one value, not %d", len(values))
	}
	return f.Value.Set(values[0])
}

// serviceConfigKeys are the flags of every long-running hookflow process, which a shared
// config file may hold.
func serviceConfigKeys() map[string]bool {
	keys := map[string]bool{}
	getenv := func(string) string { return "" }
	for _, cmd := range []*cobra.Command{newDevCommand(getenv), newServerCommand(getenv), newWorkerCommand(getenv), newAPICommand(getenv)} {
		cmd.Flags().VisitAll(func(f *pflag.Flag) { keys[f.Name] = true })
	}
	delete(keys, configFlag)
	return keys
}

// applyConfig is the PreRunE of the long-running commands: it fills their flags from the
// environment and the config file before they run.
func applyConfig(getenv func(string) string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		// LocalFlags: the root's client flags (--api, ...) are not this process's settings.
		return loadConfig(cmd.LocalFlags(), getenv, serviceConfigKeys())
	}
}
