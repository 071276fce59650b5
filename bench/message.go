package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// MessageResult is what RunMessage measured.
type MessageResult struct {
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

// RunMessage measures one bulk message to o.MessageCustomers customers on an embedded
// server with one worker: the store insert of its customers, how fast their deliveries
// start and are delivered, and the history each run of the Message workflow leaves.
// Progress goes to progress. A customer not delivered makes it return its result and an
// error.
func RunMessage(ctx context.Context, o Options, progress io.Writer) (MessageResult, error) {
	n := o.MessageCustomers
	if n < 1 || n > api.MaxMessageCustomers {
		return MessageResult{}, fmt.Errorf("--message-customers: from 1 to %d", api.MaxMessageCustomers)
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	env, err := startEnv(ctx, o, progress)
	if err != nil {
		return MessageResult{}, err
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
		return MessageResult{}, err
	}
	if err := env.startWorker(); err != nil {
		return MessageResult{}, err
	}

	customers := make([]json.RawMessage, n)
	for i := range customers {
		customers[i] = json.RawMessage(fmt.Sprintf(`{"id":"cust_%d","email":"c%d@example.com","name":"Customer %d"}`, i, i, i))
	}
	m := store.Message{ID: payloads.NewID("msg_"), DistributionID: d.ID, DistributionName: d.Name, Status: store.MessageScheduled,
		SendAt: now, CreatedAt: now, UpdatedAt: now}
	res := MessageResult{Customers: n}
	t0 := time.Now()
	if err := st.CreateMessage(ctx, m, customers); err != nil {
		return MessageResult{}, err
	}
	res.StoreInsertMs = round1(float64(time.Since(t0).Microseconds()) / 1000)
	say("stored %d customers in %.0f ms", n, res.StoreInsertMs)
	start := time.Now()
	starts := &starter.Starter{Client: c, TaskQueue: workflows.TaskQueue}
	if _, err := starts.StartMessage(ctx, workflows.MessageInput{MessageID: m.ID, SendAt: m.SendAt, Total: n}); err != nil {
		return MessageResult{}, err
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
	delivered := recv.distinct
	deadline := start.Add(10*time.Minute + time.Duration(n)*100*time.Millisecond)
	lastReport := start
	for delivered() < n {
		if time.Now().After(deadline) {
			break
		}
		select {
		case err := <-failed:
			return MessageResult{}, fmt.Errorf("the message's workflow failed: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
		cur, err := st.GetMessage(ctx, m.ID)
		if err == nil && cur.Sent == n && res.AllStartedSec == 0 {
			res.AllStartedSec = round1(time.Since(start).Seconds())
		}
		if time.Since(lastReport) >= 10*time.Second {
			lastReport = time.Now()
			say("  %5.0f s  %d started, %d delivered", time.Since(start).Seconds(), cur.Sent, delivered())
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
			return MessageResult{}, err
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
	if res.Lost > 0 {
		return res, &LostError{Lost: res.Lost, What: "customers not delivered"}
	}
	return res, nil
}

// WriteText prints the result for people.
func (res MessageResult) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\none message to %d customers (one worker, SQLite):\n", res.Customers)
	fmt.Fprintf(&b, "  store insert             %.0f ms\n", res.StoreInsertMs)
	fmt.Fprintf(&b, "  all deliveries started   %.1f s   (%.1f customers/s)\n", res.AllStartedSec, res.StartedPerSec)
	fmt.Fprintf(&b, "  all delivered            %.1f s   (%.1f customers/s)\n", res.AllDeliveredSec, res.DeliveredPerSec)
	fmt.Fprintf(&b, "  Message workflow         %d runs, longest history %d events, %d in all\n", res.Runs, res.MaxHistoryEvents, res.TotalHistoryEvents)
	fmt.Fprintf(&b, "  lost %d, duplicates %d\n", res.Lost, res.Duplicates)
	_, err := io.WriteString(w, b.String())
	return err
}
