package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/worker"
	"github.com/hookflow/hookflow/workflows"
)

// newMessagesCommand is the `messages` command group: manual and bulk messages.
func newMessagesCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "messages", Aliases: []string{"message", "msg"}, Short: "Send manual and bulk messages through a distribution"}
	cmd.AddCommand(newMessagesSendCommand(g), newMessagesShowCommand(g), newMessagesListCommand(g), newMessagesCancelCommand(g))
	return cmd
}

func newMessagesSendCommand(g *globalFlags) *cobra.Command {
	var distribution, customers, customer, delay, id, format string
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Send a message to one customer or a file of customers, after a delay in which it can be canceled",
		Long: `Send one manual_distribution_schedule delivery per customer through a distribution
(which must take manual_distribution_schedule events, with action notify_promotion or
publish_code). The message waits --delay first (10m by default): until then
'hookflow messages cancel ID' stops it and nothing is sent.

--customers reads a file: CSV with a header row (columns become customer fields, dotted
columns such as metadata.tier nest, values are strings), JSON lines (one customer object
per line), or a JSON array (.json). Every customer needs an id (or source_id), once per
message. At most 100,000 customers per message.`,
		Example: `  hookflow messages send --distribution distr_123 --customer '{"id":"cust_1","email":"ann@example.com"}' --delay 2s
  hookflow messages send --distribution distr_123 --customers customers.csv
  hookflow messages send --distribution distr_123 --customers customers.jsonl --delay 1h --id spring-sale`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			if distribution == "" {
				return errors.New("--distribution is required: the id of the distribution to send through")
			}
			if (customers == "") == (customer == "") {
				return errors.New("give --customers FILE or --customer JSON (one of them)")
			}
			if delay != "" {
				if _, err := time.ParseDuration(delay); err != nil {
					return fmt.Errorf("--delay %q: want a duration such as 2s, 10m or 1h", delay)
				}
			}
			path := "/v1/distributions/" + url.PathEscape(distribution) + "/messages"
			var contentType string
			var body []byte
			if customer != "" {
				raw, err := readArg(cmd, "customer", customer)
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
			if err := c.upload(http.MethodPost, path, contentType, body, &m); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(m)
			}
			fmt.Fprintf(c.out, "scheduled message %s: %d customer%s through %s (%s), sending at %s (in %s)\n",
				m.ID, m.Total, plural(m.Total), m.DistributionID, m.DistributionName, m.SendAt.Local().Format(time.RFC3339), m.Delay)
			fmt.Fprintf(c.out, "  progress: hookflow messages show %s\n  cancel before then: hookflow messages cancel %s\n", m.ID, m.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&distribution, "distribution", "", "id of the distribution to send through (required)")
	f.StringVar(&customers, "customers", "", "file of customers: .csv, .jsonl/.ndjson (one object per line) or .json (an array); - for standard input")
	f.StringVar(&customer, "customer", "", "one customer as JSON, or @file")
	f.StringVar(&delay, "delay", "", "wait this long before sending, during which the message can be canceled (default 10m; 0s sends at once)")
	f.StringVar(&id, "id", "", "the message's id (default: one is made); sending again with the same id sends nothing new")
	f.StringVar(&format, "format", "", "format of --customers: csv, jsonl or json (default: from the file's extension; jsonl for -)")
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
			return "", nil, errors.New("--customers: a .json file must hold an array of customer objects; use .jsonl for one object per line")
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
		return "", nil, fmt.Errorf("--customers: %w", err)
	}
	return "application/json", b.Bytes(), nil
}

// readCustomersFile reads --customers and says its content type.
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
	var rd io.Reader
	if file == "-" {
		rd = cmd.InOrStdin()
	} else {
		f, err := os.Open(file)
		if err != nil {
			return "", nil, fmt.Errorf("--customers: %w", err)
		}
		defer f.Close()
		rd = f
	}
	body, err := io.ReadAll(io.LimitReader(rd, api.MaxMessageBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("--customers: %w", err)
	}
	if len(body) > api.MaxMessageBytes {
		return "", nil, fmt.Errorf("--customers: larger than %d MiB, the limit of one message: split it", api.MaxMessageBytes>>20)
	}
	return contentType, body, nil
}

func newMessagesShowCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "show ID", Short: "Show a message and its progress", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			var m api.MessageView
			if err := c.do(http.MethodGet, "/v1/messages/"+url.PathEscape(args[0]), nil, &m); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(m)
			}
			printMessage(c.out, m)
			return nil
		},
	}
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
	var limit int
	cmd := &cobra.Command{
		Use: "list", Short: "List messages, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			l, done, err := getList[api.MessageView](c, fmt.Sprintf("/v1/messages?limit=%d", limit))
			if done {
				return err
			}
			return printTable(c.out, "ID\tSTATUS\tSENT\tTOTAL\tSEND AT\tDISTRIBUTION", l.Data, func(m api.MessageView) string {
				return fmt.Sprintf("%s\t%s\t%d\t%d\t%s\t%s", m.ID, m.Status, m.Sent, m.Total, m.SendAt.Local().Format(time.RFC3339), m.DistributionID)
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, fmt.Sprintf("at most this many (1 to %d)", api.MaxMessageList))
	return cmd
}

func newMessagesCancelCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use: "cancel ID", Short: "Cancel a message during its delay: nothing is sent", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client(cmd)
			if err != nil {
				return err
			}
			var m api.MessageView
			if err := c.do(http.MethodDelete, "/v1/messages/"+url.PathEscape(args[0]), nil, &m); err != nil {
				return err
			}
			if c.output != "text" {
				return c.printData(m)
			}
			fmt.Fprintf(c.out, "canceled message %s: none of its %d customer%s will be sent\n", m.ID, m.Total, plural(m.Total))
			return nil
		},
	}
}

// MessageBenchResult is what `hookflow bench --message-customers N --json` prints.
type MessageBenchResult struct {
	Customers          int     `json:"customers"`
	StoreInsertMs      float64 `json:"store_insert_ms"`
	AllStartedSec      float64 `json:"all_started_sec"`
	StartedPerSec      float64 `json:"started_per_sec"`
	AllDeliveredSec    float64 `json:"all_delivered_sec"`
	DeliveredPerSec    float64 `json:"delivered_per_sec"`
	Runs               int     `json:"runs"`
	MaxHistoryEvents   int64   `json:"max_history_events"`
	TotalHistoryEvents int64   `json:"total_history_events"`
	Lost               int     `json:"lost"`
	Duplicates         int     `json:"duplicates"`
}

// runMessageBench measures one bulk message on an embedded server with one worker: the
// store insert of its customers, how fast their deliveries start and are delivered, and
// the history each run of the Message workflow leaves.
func runMessageBench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	n := o.messageCustomers
	if n > api.MaxMessageCustomers {
		return fmt.Errorf("--message-customers: at most %d", api.MaxMessageCustomers)
	}
	progress := o.progressTo(stdout)
	env, err := startBenchEnv(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer env.close()
	st, c, recv := env.st, env.c, env.recv
	now := time.Now().UTC()
	d := distributions.Distribution{
		ID: payloads.NewID("distr_"), Name: "bench message", Status: distributions.StatusLive, Version: 1,
		Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}},
		Action: distributions.Action{Type: distributions.ActionNotifyPromotion,
			Campaign: json.RawMessage(`{"id":"camp_1"}`), PromotionTier: json.RawMessage(`{"id":"promo_1"}`)},
		Webhook: distributions.Webhook{EventName: "Manual", URL: recv.URL, Version: payloads.Version2024,
			RetrySchedule: &distributions.RetrySchedule{Intervals: []time.Duration{time.Second, time.Second}}},
		CreatedAt: now, UpdatedAt: now,
	}
	if err := st.CreateDistribution(ctx, d); err != nil {
		return err
	}
	acts := &activities.Activities{Store: st, HTTP: activities.NewHTTPClient(&activities.TargetGuard{Allow: activities.Loopback}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Deliveries: &starter.Starter{Client: c, TaskQueue: workflows.TaskQueue}}
	w := worker.New(c, workflows.TaskQueue, acts, worker.Options())
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()

	customers := make([]json.RawMessage, n)
	for i := range customers {
		customers[i] = json.RawMessage(fmt.Sprintf(`{"id":"cust_%d","email":"c%d@example.com","name":"Customer %d"}`, i, i, i))
	}
	m := store.Message{ID: payloads.NewID("msg_"), DistributionID: d.ID, DistributionName: d.Name, Status: store.MessageScheduled,
		SendAt: now, CreatedAt: now, UpdatedAt: now}
	res := MessageBenchResult{Customers: n}
	t0 := time.Now()
	if err := st.CreateMessage(ctx, m, customers); err != nil {
		return err
	}
	res.StoreInsertMs = round1(float64(time.Since(t0).Microseconds()) / 1000)
	progress("stored %d customers in %.0f ms", n, res.StoreInsertMs)
	start := time.Now()
	starts := &starter.Starter{Client: c, TaskQueue: workflows.TaskQueue}
	if _, err := starts.StartMessage(ctx, workflows.MessageInput{MessageID: m.ID, SendAt: m.SendAt, Total: n}); err != nil {
		return err
	}
	// A message workflow that fails ends the run at once, with its error.
	failed := make(chan error, 1)
	go func() {
		// Get follows the runs the workflow continues as new into.
		var p workflows.MessageProgress
		if err := c.GetWorkflow(ctx, workflows.MessageWorkflowID(m.ID), "").Get(ctx, &p); err != nil {
			failed <- err
		}
	}()
	delivered := func() int {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return len(recv.first)
	}
	deadline := start.Add(10*time.Minute + time.Duration(n)*100*time.Millisecond)
	lastReport := start
	for delivered() < n {
		if time.Now().After(deadline) {
			break
		}
		select {
		case err := <-failed:
			return fmt.Errorf("the message's workflow failed: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
		cur, err := st.GetMessage(ctx, m.ID)
		if err == nil && cur.Sent == n && res.AllStartedSec == 0 {
			res.AllStartedSec = round1(time.Since(start).Seconds())
		}
		if time.Since(lastReport) >= 10*time.Second {
			lastReport = time.Now()
			progress("  %5.0f s  %d started, %d delivered", time.Since(start).Seconds(), cur.Sent, delivered())
		}
	}
	res.AllDeliveredSec = round1(time.Since(start).Seconds())
	res.Lost = n - delivered()
	res.Duplicates = recv.duplicates()
	if res.AllStartedSec > 0 {
		res.StartedPerSec = round1(float64(n) / res.AllStartedSec)
	}
	res.DeliveredPerSec = round1(float64(n-res.Lost) / res.AllDeliveredSec)
	// Every run of the message's workflow and the length of its history.
	for range 50 {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("WorkflowId = '%s'", workflows.MessageWorkflowID(m.ID)), PageSize: 1000})
		if err != nil {
			return err
		}
		res.Runs, res.MaxHistoryEvents, res.TotalHistoryEvents = 0, 0, 0
		closed := true
		for _, e := range resp.GetExecutions() {
			res.Runs++
			res.MaxHistoryEvents = max(res.MaxHistoryEvents, e.GetHistoryLength())
			res.TotalHistoryEvents += e.GetHistoryLength()
			closed = closed && e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
		}
		if closed && res.Runs > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if o.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "\none message to %d customers (one worker, SQLite):\n", n)
		fmt.Fprintf(stdout, "  store insert             %.0f ms\n", res.StoreInsertMs)
		fmt.Fprintf(stdout, "  all deliveries started   %.1f s   (%.1f customers/s)\n", res.AllStartedSec, res.StartedPerSec)
		fmt.Fprintf(stdout, "  all delivered            %.1f s   (%.1f customers/s)\n", res.AllDeliveredSec, res.DeliveredPerSec)
		fmt.Fprintf(stdout, "  Message workflow         %d runs, longest history %d events, %d in all\n", res.Runs, res.MaxHistoryEvents, res.TotalHistoryEvents)
		fmt.Fprintf(stdout, "  lost %d, duplicates %d\n", res.Lost, res.Duplicates)
	}
	if res.Lost > 0 {
		return fmt.Errorf("%d customers not delivered", res.Lost)
	}
	return nil
}
