package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/activities"
)

// version is hookflow's version, set when building a release:
//
//	go build -ldflags "-X main.version=v1.2.0" .
var version = "dev"

func init() {
	// One -ldflags setting names the release everywhere, the User-Agent of webhooks too.
	activities.Version = version
}

// versionInfo is what `hookflow version` reports. The Temporal versions matter when
// matching hookflow with a Temporal cluster and its schema.
type versionInfo struct {
	Version        string `json:"version" yaml:"version"`
	Go             string `json:"go" yaml:"go"`
	Platform       string `json:"platform" yaml:"platform"`
	TemporalSDK    string `json:"temporal_sdk" yaml:"temporal_sdk"`
	TemporalServer string `json:"temporal_server" yaml:"temporal_server"`
	TemporalAPI    string `json:"temporal_api" yaml:"temporal_api"`
	TemporalUI     string `json:"temporal_ui" yaml:"temporal_ui"`
	// ModuleVersion is set when built with go install module@version.
	ModuleVersion string `json:"module_version,omitempty" yaml:"module_version,omitempty"`
	VCSRevision   string `json:"vcs_revision,omitempty" yaml:"vcs_revision,omitempty"`
	VCSModified   bool   `json:"vcs_modified,omitempty" yaml:"vcs_modified,omitempty"`
}

// readVersionInfo reads the module versions compiled in, so that they cannot disagree with
// go.mod.
func readVersionInfo() versionInfo {
	v := versionInfo{Version: version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if info.Main.Version != "" && info.Main.Version != "(devel)" {
		v.ModuleVersion = info.Main.Version
	}
	for _, dep := range info.Deps {
		for dep.Replace != nil {
			dep = dep.Replace
		}
		switch dep.Path {
		case "go.temporal.io/sdk":
			v.TemporalSDK = dep.Version
		case "go.temporal.io/server":
			v.TemporalServer = dep.Version
		case "go.temporal.io/api":
			v.TemporalAPI = dep.Version
		case "github.com/temporalio/ui-server/v2":
			v.TemporalUI = dep.Version
		}
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.VCSRevision = s.Value
		case "vcs.modified":
			v.VCSModified = s.Value == "true"
		}
	}
	return v
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hookflow's version and the Go and Temporal versions it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersionInfo()
			out := cmd.OutOrStdout()
			// The root's --output, when the root has it; text otherwise.
			output := "text"
			if f := cmd.Flag("output"); f != nil {
				output = f.Value.String()
			}
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			case "yaml":
				return yaml.NewEncoder(out).Encode(v)
			case "text":
			default:
				return fmt.Errorf("--output %q: use text, json or yaml", output)
			}
			fmt.Fprintf(out, "hookflow %s\n", v.Version)
			fmt.Fprintf(out, "  Go               %s %s\n", v.Go, v.Platform)
			fmt.Fprintf(out, "  Temporal SDK     %s\n", orUnknown(v.TemporalSDK))
			fmt.Fprintf(out, "  Temporal server  %s\n", orUnknown(v.TemporalServer))
			fmt.Fprintf(out, "  Temporal API     %s\n", orUnknown(v.TemporalAPI))
			fmt.Fprintf(out, "  Temporal UI      %s\n", orUnknown(v.TemporalUI))
			if v.VCSRevision != "" {
				modified := ""
				if v.VCSModified {
					modified = " (modified)"
				}
				fmt.Fprintf(out, "  Commit           %s%s\n", v.VCSRevision, modified)
			}
			return nil
		},
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
