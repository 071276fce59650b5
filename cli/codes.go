package cli

import (
	"bytes"
	"errors"
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

	var campaign, format string
	imp := &cobra.Command{
		Use:   "import --campaign ID FILE",
		Short: "Add codes to a campaign's pool from a file (one code a line, or CSV with a code column)",
		Long: `Adds the codes of FILE (or - for standard input) to the campaign's pool. A text file
holds one code a line; a CSV file (--format csv, or a name ending in .csv) has a header row
with a "code" column. Codes already in the pool are counted as duplicates and skipped. One bad
line refuses the whole file, naming the line. At most ` + fmt.Sprint(api.MaxCodesPerImport) + ` codes and 32 MiB a file.`,
		Example: `  hookflow codes import --campaign camp_spring codes.txt
  hookflow codes import --campaign camp_spring export.csv
  generate-codes | hookflow codes import --campaign camp_spring -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("give one FILE, or - for standard input")
			}
			return nil
		},
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if err := checkCampaignFlag(campaign); err != nil {
				return err
			}
			contentType, err := codesContentType(format, args[0])
			if err != nil {
				return err
			}
			body, err := readCodesFile(cmd, args[0])
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
	imp.Flags().StringVar(&campaign, "campaign", "", "the campaign id whose pool takes the codes (the id of a publish_code distribution's action.campaign)")
	imp.Flags().StringVar(&format, "format", "auto", "lines (one code a line), csv (a header row with a code column), or auto: csv for a .csv file, lines otherwise")

	var statsCampaign string
	stats := &cobra.Command{
		Use:   "stats --campaign ID",
		Short: "Count a campaign's codes: total, published, available",
		Example: `  hookflow codes stats --campaign camp_spring
  hookflow codes stats --campaign camp_spring -o json`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			if err := checkCampaignFlag(statsCampaign); err != nil {
				return err
			}
			var out store.CodeStats
			if err := c.do(http.MethodGet, "/v1/campaigns/"+url.PathEscape(statsCampaign)+"/codes/stats", nil, &out); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(out)
			}
			return printCodeStats(c, out)
		}),
	}
	stats.Flags().StringVar(&statsCampaign, "campaign", "", "the campaign id")

	cmd.AddCommand(imp, stats)
	return cmd
}

func checkCampaignFlag(campaign string) error {
	switch {
	case campaign == "":
		return errors.New("--campaign is required: the campaign id, e.g. --campaign camp_spring")
	case strings.ContainsFunc(campaign, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("--campaign %q: a campaign id has no whitespace or control characters", campaign)
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
