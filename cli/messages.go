package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
)

// newMessagesCommand is the `messages` command group: manual and bulk messages.
func newMessagesCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "messages", Aliases: []string{"message", "msg"}, Short: "Send manual and bulk messages through a distribution"}
	cmd.AddCommand(newMessagesSendCommand(g), newMessagesShowCommand(g), newMessagesListCommand(g), newMessagesCancelCommand(g))
	return cmd
}

func newMessagesSendCommand(g *globalFlags) *cobra.Command {
	var oldDistribution, customers, customer, delay, id, format string
	cmd := &cobra.Command{
		Use:   "send DISTRIBUTION_ID",
		Short: "Send a message to one customer or a file of customers, after a delay in which it can be canceled",
		Long: `Send one manual_distribution_schedule delivery per customer through a distribution
(which must take manual_distribution_schedule events, with action notify_promotion or
publish_code). The message waits --delay first (10m by default): until then
'hookflow messages cancel ID' stops it and nothing is sent.

-f reads a file of customers: CSV with a header row (columns become customer fields, dotted
columns such as metadata.tier nest, values are strings), JSON lines (one customer object
per line), or a JSON array (.json). Every customer needs an id (or source_id), once per
message. At most 100,000 customers per message.`,
		Example: `  hookflow messages send distr_123 --customer '{"id":"cust_1","email":"ann@example.com"}' --delay 2s
  hookflow messages send distr_123 -f customers.csv
  hookflow messages send distr_123 -f customers.jsonl --delay 1h --id spring-sale`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("distribution") {
				// The deprecated form: send --distribution ID.
				if len(args) > 0 {
					return newUsageError(cmd, "give the distribution once: hookflow messages send DISTRIBUTION_ID")
				}
				return nil
			}
			if len(args) == 2 && customers == "" && customer == "" {
				return newUsageError(cmd, "the file of customers goes after -f: hookflow messages send %s -f %s", args[0], args[1])
			}
			return usageArgs(cmd, args)
		},
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			distribution, idName := oldDistribution, "--distribution"
			if len(args) == 1 {
				distribution, idName = args[0], "DISTRIBUTION_ID"
			}
			if distribution == "" {
				return fmt.Errorf("%s is empty: give the id of the distribution to send through", idName)
			}
			if cmd.Flags().Changed("customers") && cmd.Flags().Changed("file") {
				return newUsageError(cmd, "give the file of customers once, as -f FILE")
			}
			if (customers == "") == (customer == "") {
				return errors.New("give -f FILE (a file of customers) or --customer JSON (one of them)")
			}
			if delay != "" {
				if _, err := distributions.ParseDuration(delay); err != nil {
					return fmt.Errorf("--delay %q: want a duration such as 2s, 10m or 1h", delay)
				}
			}
			path := "/v1/distributions/" + url.PathEscape(distribution) + "/messages"
			var contentType string
			var body []byte
			var err error
			if customer != "" {
				raw, err := readValue(cmd, "customer", customer, api.MaxCustomerBytes)
				if err != nil {
					return err
				}
				if !json.Valid(raw) {
					return errors.New("--customer: not valid JSON; want an object such as {\"id\":\"cust_1\"}")
				}
				contentType, body, err = jsonMessage(json.RawMessage(raw), nil, delay, id)
				if err != nil {
					return err
				}
			} else {
				if contentType, body, err = readCustomersFile(cmd, customers, format); err != nil {
					return err
				}
				if contentType == "application/json" {
					if contentType, body, err = jsonMessage(nil, json.RawMessage(body), delay, id); err != nil {
						return err
					}
				} else {
					q := url.Values{}
					if delay != "" {
						q.Set("delay", delay)
					}
					if id != "" {
						q.Set("id", id)
					}
					if len(q) > 0 {
						path += "?" + q.Encode()
					}
				}
			}
			var m api.MessageView
			if err := c.createUpload(path, contentType, body, &m); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(m)
			}
			fmt.Fprintf(c.out, "scheduled message %s: %d customer%s through %s (%s), sending at %s (in %s)\n",
				m.ID, m.Total, plural(m.Total), m.DistributionID, m.DistributionName, m.SendAt.Local().Format(time.RFC3339), m.Delay)
			fmt.Fprintf(c.out, "  progress: hookflow messages show %s\n  cancel before then: hookflow messages cancel %s\n", m.ID, m.ID)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&customers, "file", "f", "", "file of customers: .csv, .jsonl/.ndjson (one object per line) or .json (an array); - for standard input")
	f.StringVar(&customer, "customer", "", "one customer as JSON, or @file")
	f.StringVar(&delay, "delay", "", "wait this long before sending, during which the message can be canceled (default 10m; 0s sends at once)")
	f.StringVar(&id, "id", "", "the message's id (default: one is made); sending again with the same id sends nothing new")
	f.StringVar(&format, "format", "", "format of -f: csv, jsonl or json (default: from the file's extension; jsonl for -)")
	f.StringVar(&oldDistribution, "distribution", "", "id of the distribution to send through (deprecated: give it as the argument)")
	f.StringVar(&customers, "customers", "", "file of customers (deprecated: give it as -f)")
	deprecateFlag(cmd, "distribution", "hookflow messages send DISTRIBUTION_ID")
	deprecateFlag(cmd, "customers", "hookflow messages send DISTRIBUTION_ID -f FILE")
	g.idempotencyFlag(cmd)
	return cmd
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// jsonMessage builds the JSON body of a message from one customer or an array of them.
func jsonMessage(customer, customers json.RawMessage, delay, id string) (string, []byte, error) {
	in := map[string]any{}
	if customer != nil {
		in["customer"] = customer
	} else {
		if t := bytes.TrimSpace(customers); len(t) == 0 || t[0] != '[' {
			return "", nil, errors.New("-f: a .json file must hold an array of customer objects; use .jsonl for one object per line")
		}
		in["customers"] = customers
	}
	if delay != "" {
		in["delay"] = delay
	}
	if id != "" {
		in["id"] = id
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return "", nil, fmt.Errorf("-f: %w", err)
	}
	return "application/json", b.Bytes(), nil
}

// readCustomersFile reads the file of customers (-f) and says its content type.
func readCustomersFile(cmd *cobra.Command, file, format string) (string, []byte, error) {
	if format == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			format = "csv"
		case ".json":
			format = "json"
		default:
			format = "jsonl"
		}
	}
	var contentType string
	switch format {
	case "csv":
		contentType = "text/csv"
	case "jsonl", "ndjson":
		contentType = "application/x-ndjson"
	case "json":
		contentType = "application/json"
	default:
		return "", nil, fmt.Errorf("--format %q: use csv, jsonl or json", format)
	}
	body, _, err := readInput(cmd, file, api.MaxMessageBytes, fmt.Sprintf("%d MiB is the limit of one message: split it", api.MaxMessageBytes>>20))
	if err != nil {
		return "", nil, fmt.Errorf("-f: %w", err)
	}
	return contentType, body, nil
}

func newMessagesShowCommand(g *globalFlags) *cobra.Command {
	var watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use: "show ID", Short: "Show a message and its progress", Args: usageArgs,
		Long: `Show a message and its progress.

With --watch, follow its progress until it is done (sent: every customer's delivery started;
or canceled), asking the API every --interval: a bar redrawn in place when standard output
is a terminal, a line per change otherwise, and with -o json, jsonl or yaml the message once
per change. Ctrl-C stops watching.`,
		Example: `  hookflow messages show msg_123
  hookflow messages show msg_123 -o json
  hookflow messages show msg_123 --watch
  hookflow messages show msg_123 --watch -o jsonl`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("interval") && !watch {
				return errors.New("--interval goes with --watch")
			}
			if watch {
				if err := checkInterval(interval); err != nil {
					return err
				}
				return watchMessage(cmd.Context(), c, args[0], interval)
			}
			var m api.MessageView
			if err := c.do(http.MethodGet, "/v1/messages/"+url.PathEscape(args[0]), nil, &m); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(m)
			}
			printMessage(c.out, m)
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the progress until the message is done")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "with --watch, how often to ask the API")
	return cmd
}

func printMessage(w io.Writer, m api.MessageView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "message\t%s\n", m.ID)
	fmt.Fprintf(tw, "status\t%s\n", m.Status)
	fmt.Fprintf(tw, "distribution\t%s (%s)\n", m.DistributionID, m.DistributionName)
	pct := 0.0
	if m.Total > 0 {
		pct = 100 * float64(m.Sent) / float64(m.Total)
	}
	fmt.Fprintf(tw, "sent\t%d of %d customers (%.0f%%)\n", m.Sent, m.Total, pct)
	fmt.Fprintf(tw, "delay\t%s\n", m.Delay)
	fmt.Fprintf(tw, "send at\t%s\n", m.SendAt.Local().Format(time.RFC3339))
	fmt.Fprintf(tw, "created\t%s\n", m.CreatedAt.Local().Format(time.RFC3339))
	if m.CanceledAt != nil {
		fmt.Fprintf(tw, "canceled\t%s\n", m.CanceledAt.Local().Format(time.RFC3339))
	}
	if m.FinishedAt != nil {
		fmt.Fprintf(tw, "all started\t%s\n", m.FinishedAt.Local().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "workflow\t%s\n", m.WorkflowID)
	tw.Flush()
}

func newMessagesListCommand(g *globalFlags) *cobra.Command {
	var pages pageFlags
	cmd := &cobra.Command{
		Use: "list", Short: "List messages, newest first", Args: usageArgs,
		Example: `  hookflow messages list
  hookflow messages list --limit 10 -o json`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			items, done, err := getList[api.MessageView](c, cmd, pages, "/v1/messages", nil)
			if done {
				return err
			}
			return printTable(c.out, "ID\tSTATUS\tSENT\tTOTAL\tSEND AT\tDISTRIBUTION", items, func(m api.MessageView) string {
				return fmt.Sprintf("%s\t%s\t%d\t%d\t%s\t%s", m.ID, m.Status, m.Sent, m.Total, m.SendAt.Local().Format(time.RFC3339), m.DistributionID)
			})
		}),
	}
	pages.register(cmd)
	return cmd
}

func newMessagesCancelCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "cancel ID", Short: "Cancel a message during its delay: nothing is sent", Args: usageArgs,
		Example: `  hookflow messages cancel msg_123`,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, args []string) error {
			var m api.MessageView
			if err := c.do(http.MethodDelete, "/v1/messages/"+url.PathEscape(args[0]), nil, &m); err != nil {
				return err
			}
			if !c.isText() {
				return c.data(m)
			}
			fmt.Fprintf(c.out, "canceled message %s: none of its %d customer%s will be sent\n", m.ID, m.Total, plural(m.Total))
			return nil
		}),
	}
}
