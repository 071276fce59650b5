package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/store"
)

// globalFlags are the flags of every command that talks to a running hookflow.
type globalFlags struct {
	api    string
	apiKey string
	output string
}

func (g *globalFlags) register(root *cobra.Command) {
	def := os.Getenv("HOOKFLOW_API")
	if def == "" {
		def = "http://" + defaultAPIAddr
	}
	root.PersistentFlags().StringVar(&g.api, "api", def, "hookflow API base URL (env HOOKFLOW_API)")
	root.PersistentFlags().StringVar(&g.apiKey, "api-key", os.Getenv("HOOKFLOW_API_KEY"), "API key (env HOOKFLOW_API_KEY)")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "output format: text, json or yaml")
}

// apiClient calls the hookflow API.
type apiClient struct {
	base   string
	key    string
	output string
	out    io.Writer
	http   *http.Client
}

func (g *globalFlags) client(cmd *cobra.Command) (*apiClient, error) {
	if g.output != "text" && g.output != "json" && g.output != "yaml" {
		return nil, fmt.Errorf("--output %q: use text, json or yaml", g.output)
	}
	u, err := url.Parse(g.api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--api %q: want a URL such as http://%s", g.api, defaultAPIAddr)
	}
	return &apiClient{
		base: strings.TrimRight(g.api, "/"), key: g.apiKey, output: g.output,
		out: cmd.OutOrStdout(), http: &http.Client{Timeout: 30 * time.Second},
	}, nil
}

// do sends a request with a JSON body (or none) and decodes a 2xx JSON answer into v (when
// not nil). A non-2xx answer becomes an error with the API's message.
func (c *apiClient) do(method, path string, body []byte, v any) error {
	return c.send(c.http, method, path, "application/json", body, v)
}

// upload is do for a large body of any content type (a file of codes or customers), with
// time enough to send and store it.
func (c *apiClient) upload(method, path, contentType string, body []byte, v any) error {
	hc := *c.http
	hc.Timeout = 10 * time.Minute
	return c.send(&hc, method, path, contentType, body, v)
}

func (c *apiClient) send(hc *http.Client, method, path, contentType string, body []byte, v any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("content-type", contentType)
	}
	if c.key != "" {
		req.Header.Set("authorization", "Bearer "+c.key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach hookflow at %s (is `hookflow dev` running? set --api): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var eb api.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			if len(eb.Error.Problems) > 1 {
				var b strings.Builder
				fmt.Fprintf(&b, "%d %s:", resp.StatusCode, eb.Error.Type)
				for _, p := range eb.Error.Problems {
					fmt.Fprintf(&b, "\n  %s: %s", p.Field, p.Message)
				}
				return errors.New(b.String())
			}
			return fmt.Errorf("%d %s: %s", resp.StatusCode, eb.Error.Type, eb.Error.Message)
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if v != nil && len(data) > 0 {
		return json.Unmarshal(data, v)
	}
	return nil
}

// getList GETs the list answer at path. With -o json or yaml it prints the answer and says
// done; otherwise the command prints l.Data as text.
func getList[T any](c *apiClient, path string) (l api.List[T], done bool, err error) {
	if err := c.do(http.MethodGet, path, nil, &l); err != nil {
		return l, true, err
	}
	if c.output != "text" {
		return l, true, c.printData(l)
	}
	return l, false, nil
}

// printTable prints items in aligned columns under header (columns separated by tabs),
// a row an item.
func printTable[T any](w io.Writer, header string, items []T, row func(T) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, item := range items {
		fmt.Fprintln(tw, row(item))
	}
	return tw.Flush()
}

// printData prints v as the --output asks: YAML for yaml, JSON otherwise.
func (c *apiClient) printData(v any) error {
	if c.output == "yaml" {
		return printYAML(c.out, v)
	}
	return c.printJSON(v)
}

func (c *apiClient) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// readArg reads a value given inline, as @file, or as - for standard input.
func readArg(cmd *cobra.Command, flag, v string) ([]byte, error) {
	switch {
	case v == "-":
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), api.MaxEventBytes+1))
		if err != nil {
			return nil, fmt.Errorf("--%s -: %w", flag, err)
		}
		return b, nil
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return b, nil
	}
	return []byte(v), nil
}

func newSendCommand(g *globalFlags) *cobra.Command {
	var typ, data, id, entityID, groupID string
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Send an event to hookflow",
		Example: `  hookflow send --type customer.order.paid --data '{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":12000}}'
  hookflow send --type customer.order.paid --data @order.json --id evt_123
  cat order.json | hookflow send --type customer.order.paid --data -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			if typ == "" {
				return errors.New("--type is required, e.g. --type customer.order.paid")
			}
			if data == "" {
				return errors.New("--data is required: JSON, @file or - for standard input")
			}
			raw, err := readArg(cmd, "data", data)
			if err != nil {
				return err
			}
			if !json.Valid(raw) {
				return errors.New("--data: not valid JSON")
			}
			ev := map[string]any{"type": typ, "data": json.RawMessage(raw)}
			for k, v := range map[string]string{"id": id, "entity_id": entityID, "group_id": groupID} {
				if v != "" {
					ev[k] = v
				}
			}
			body, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			var h struct {
				ID         string `json:"id"`
				WorkflowID string `json:"workflow_id"`
				RunID      string `json:"run_id"`
			}
			if err := c.do(http.MethodPost, "/v1/events", body, &h); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(h)
			}
			fmt.Fprintf(c.out, "accepted event %s (workflow %s)\n", h.ID, h.WorkflowID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "event type, e.g. customer.order.paid")
	f.StringVar(&data, "data", "", "the event's objects: JSON, @file or - for standard input")
	f.StringVar(&id, "id", "", "event id (idempotency key); generated when empty")
	f.StringVar(&entityID, "entity-id", "", "id of the object the event is about")
	f.StringVar(&groupID, "group-id", "", "id of the request that caused the event")
	return cmd
}

func newNotificationsCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "notifications", Aliases: []string{"notification"}, Short: "Read failure notifications"}
	var unread bool
	list := &cobra.Command{
		Use: "list", Short: "List notifications, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			path := "/v1/notifications"
			if unread {
				path += "?unread=true"
			}
			l, done, err := getList[store.Notification](c, path)
			if done {
				return err
			}
			if len(l.Data) == 0 {
				fmt.Fprintln(c.out, "no notifications")
				return nil
			}
			for _, n := range l.Data {
				state := "unread"
				if n.ReadAt != nil {
					state = "read"
				}
				fmt.Fprintf(c.out, "%s  %s  %s\n  %s\n", n.ID, n.CreatedAt.Format(time.RFC3339), state, n.Message)
				if n.Link != "" {
					fmt.Fprintf(c.out, "  %s\n", n.Link)
				}
			}
			return nil
		},
	}
	list.Flags().BoolVar(&unread, "unread", false, "only unread notifications")
	read := &cobra.Command{
		Use: "read ID", Short: "Mark a notification read", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			var n store.Notification
			if err := c.do(http.MethodPost, "/v1/notifications/"+url.PathEscape(args[0])+"/read", nil, &n); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(n)
			}
			fmt.Fprintf(c.out, "marked %s read\n", n.ID)
			return nil
		},
	}
	cmd.AddCommand(list, read)
	return cmd
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// newGetCommand is `<noun> get ID`: GET path/ID, printed as JSON (or YAML with -o yaml).
func newGetCommand(g *globalFlags, path, short string) *cobra.Command {
	return &cobra.Command{
		Use: "get ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			var v map[string]any
			if err := c.do(http.MethodGet, path+"/"+url.PathEscape(args[0]), nil, &v); err != nil {
				return err
			}
			return c.printData(v)
		},
	}
}

// newDeleteCommand is `<noun> delete ID`: DELETE path/ID.
func newDeleteCommand(g *globalFlags, path, noun string) *cobra.Command {
	return &cobra.Command{
		Use: "delete ID", Short: "Delete a " + noun, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			if err := c.do(http.MethodDelete, path+"/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(map[string]any{"id": args[0], "deleted": true})
			}
			fmt.Fprintf(c.out, "deleted %s %s\n", noun, args[0])
			return nil
		},
	}
}
