package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// newCodesCommand is the `codes` command group: the campaigns' code pools that publish_code
// distributions take codes from.
func newCodesCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "codes", Short: "Manage the code pools that publish_code distributions publish from"}

	var oldCampaign, file, format string
	imp := &cobra.Command{
		Use:   "import CAMPAIGN_ID -f FILE",
		Short: "Add codes to a campaign's pool from a file (one code a line, or CSV with a code column)",
		Long: `Adds the codes of FILE (or - for standard input) to the campaign's pool. A text file
holds one code a line; a CSV file (--format csv, or a name ending in .csv) has a header row
with a "code" column. Codes already in the pool are counted as duplicates and skipped. One bad
line refuses the whole file, naming the line. At most ` + fmt.Sprint(api.MaxCodesPerImport) + ` codes and 32 MiB a file.`,
		Example: `  hookflow codes import camp_spring -f codes.txt
  hookflow codes import camp_spring -f export.csv
  generate-codes | hookflow codes import camp_spring -f -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("campaign") {
				// The deprecated form: import --campaign ID FILE.
				if len(args) > 1 || (len(args) == 1) == (file != "") {
					return newUsageError(cmd, "give one FILE: hookflow codes import CAMPAIGN_ID -f FILE (- for standard input)")
				}
				return nil
			}
			if len(args) == 2 && file == "" {
				return newUsageError(cmd, "the file goes after -f: hookflow codes import %s -f %s", args[0], args[1])
			}
			return usageArgs(cmd, args)
		},
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			campaign, idName := oldCampaign, "--campaign"
			if cmd.Flags().Changed("campaign") {
				if len(args) == 1 {
					file = args[0]
				}
			} else {
				campaign, idName = args[0], "CAMPAIGN_ID"
			}
			if err := checkCampaignID(idName, campaign); err != nil {
				return err
			}
			if file == "" {
				return newUsageError(cmd, "-f is required: the file of codes, or - for standard input")
			}
			contentType, err := codesContentType(format, file)
			if err != nil {
				return err
			}
			body, err := readCodesFile(cmd, file)
			if err != nil {
				return err
			}
			var out api.ImportedCodes
			if err := c.upload(http.MethodPost, "/v1/campaigns/"+url.PathEscape(campaign)+"/codes", contentType, body, &out); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			fmt.Fprintf(c.out, "imported %d code(s) into campaign %s, %d duplicate(s) skipped\n", out.Added, campaign, out.Duplicates)
			return printCodeStats(c, out.Stats)
		}),
	}
	imp.Flags().StringVarP(&file, "file", "f", "", "file of codes, - for standard input")
	imp.Flags().StringVar(&format, "format", "auto", "lines (one code a line), csv (a header row with a code column), or auto: csv for a .csv file, lines otherwise")
	imp.Flags().StringVar(&oldCampaign, "campaign", "", "the campaign id (deprecated: give it as the argument)")
	deprecateFlag(imp, "campaign", "hookflow codes import CAMPAIGN_ID -f FILE")

	var oldStatsCampaign string
	stats := &cobra.Command{
		Use:   "stats CAMPAIGN_ID",
		Short: "Count a campaign's codes: total, published, available",
		Example: `  hookflow codes stats camp_spring
  hookflow codes stats camp_spring -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("campaign") {
				// The deprecated form: stats --campaign ID.
				if len(args) > 0 {
					return newUsageError(cmd, "give the campaign once: hookflow codes stats CAMPAIGN_ID")
				}
				return nil
			}
			return usageArgs(cmd, args)
		},
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			campaign, idName := oldStatsCampaign, "--campaign"
			if len(args) == 1 {
				campaign, idName = args[0], "CAMPAIGN_ID"
			}
			if err := checkCampaignID(idName, campaign); err != nil {
				return err
			}
			var out store.CodeStats
			if err := c.do(http.MethodGet, "/v1/campaigns/"+url.PathEscape(campaign)+"/codes/stats", nil, &out); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			return printCodeStats(c, out)
		}),
	}
	stats.Flags().StringVar(&oldStatsCampaign, "campaign", "", "the campaign id (deprecated: give it as the argument)")
	deprecateFlag(stats, "campaign", "hookflow codes stats CAMPAIGN_ID")

	cmd.AddCommand(imp, stats)
	return cmd
}

// checkCampaignID checks the campaign id given as name (CAMPAIGN_ID, or the deprecated
// --campaign).
func checkCampaignID(name, campaign string) error {
	switch {
	case campaign == "":
		return fmt.Errorf("%s is empty: give the campaign id, e.g. camp_spring", name)
	case strings.ContainsFunc(campaign, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("%s %q: a campaign id has no whitespace or control characters", name, campaign)
	}
	return nil
}

// codesContentType is the content type a file is sent as.
func codesContentType(format, file string) (string, error) {
	switch format {
	case "lines":
		return "text/plain; charset=utf-8", nil
	case "csv":
		return "text/csv; charset=utf-8", nil
	case "auto", "":
		if strings.HasSuffix(strings.ToLower(file), ".csv") {
			return "text/csv; charset=utf-8", nil
		}
		return "text/plain; charset=utf-8", nil
	}
	return "", fmt.Errorf("--format %q: use lines, csv or auto", format)
}

// readCodesFile reads FILE or standard input, refusing more than the API takes.
func readCodesFile(cmd *cobra.Command, file string) ([]byte, error) {
	body, name, err := readInput(cmd, file, api.MaxCodesBytes, "split it into several imports")
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%s holds no codes", name)
	}
	return body, nil
}

func printCodeStats(c *apiClient, s store.CodeStats) error {
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CAMPAIGN\tTOTAL\tPUBLISHED\tAVAILABLE\n")
	fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", s.Campaign, s.Total, s.Published, s.Available)
	return tw.Flush()
}
