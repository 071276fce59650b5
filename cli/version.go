package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/app"
)

// versionInfo is what `hookflow version` reports. The Temporal versions matter when
// matching hookflow with a Temporal cluster and its schema.
type versionInfo struct {
	Version        string `json:"version"`
	Go             string `json:"go"`
	Platform       string `json:"platform"`
	TemporalSDK    string `json:"temporal_sdk"`
	TemporalServer string `json:"temporal_server"`
	TemporalAPI    string `json:"temporal_api"`
	TemporalUI     string `json:"temporal_ui"`
	// ModuleVersion is set when built with go install module@version.
	ModuleVersion string `json:"module_version,omitempty"`
	VCSRevision   string `json:"vcs_revision,omitempty"`
	VCSModified   bool   `json:"vcs_modified,omitempty"`
}

// readVersionInfo reads the module versions compiled in, so that they cannot disagree with
// go.mod.
func readVersionInfo() versionInfo {
	v := versionInfo{Version: app.Version(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
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

func newVersionCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hookflow's version and the Go and Temporal versions it was built with",
		Example: `  hookflow version
  hookflow version -o json`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersionInfo()
			p := g.printer(cmd)
			if !p.isText() {
				return p.data(v)
			}
			out := cmd.OutOrStdout()
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
