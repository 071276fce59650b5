package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/hookflow/hookflow/activities"
	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/app"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// MessageResult is what RunMessage measured.
type MessageResult struct {
	RunID     string `json:"run_id"`
	Customers int    `json:"customers"`
	// CustomersPerSec is the customers delivered a second, from the message's send to the
	// last delivery the receiver saw.
	CustomersPerSec float64 `json:"customers_per_sec"`
	// DeliveriesPerSec is what the same run measured for single events to one distribution
	// (Events of them at Concurrency): the yardstick of CustomersPerSec.
	DeliveriesPerSec   float64 `json:"deliveries_per_sec"`
	RatioVsDeliveries  float64 `json:"ratio_vs_deliveries"`
	StoreInsertMs      float64 `json:"store_insert_ms"`
	AllStartedSec      float64 `json:"all_started_sec"`
	StartedPerSec      float64 `json:"started_per_sec"`
	AllDeliveredSec    float64 `json:"all_delivered_sec"`
	CPUMsPerCustomer   float64 `json:"cpu_ms_per_customer"`
	Runs               int     `json:"runs"`
	MaxHistoryEvents   int64   `json:"max_history_events"`
	TotalHistoryEvents int64   `json:"total_history_events"`
	IdleRSSMB          float64 `json:"idle_rss_mb"`
	PeakRSSMB          float64 `json:"peak_rss_mb"`
	Lost               int     `json:"lost"`
	Duplicates         int     `json:"duplicates"`
}

// RunMessage measures one bulk message to o.MessageCustomers customers on an embedded
// server with one worker: the store insert of its customers, how fast their deliveries
// start and are delivered, the history each run of the Message workflow leaves, and, as
// its yardstick in the same run, o.Events single events to one distribution. Progress goes
// to progress. A customer not delivered makes it return its result and a *LostError.
func RunMessage(ctx context.Context, o Options, progress io.Writer) (MessageResult, error) {
	n := o.MessageCustomers
	if n < 1 || n > api.MaxMessageCustomers {
		return MessageResult{}, fmt.Errorf("--message-customers: from 1 to %d", api.MaxMessageCustomers)
	}
	if o.Events < 1 || o.Concurrency < 1 {
		return MessageResult{}, errors.New("--events and --concurrency must be at least 1: they measure the yardstick")
	}
	say := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	env, err := startEnv(ctx, o, progress)
	if err != nil {
		return MessageResult{}, err
	}
	defer env.close()
	st, c, recv := env.st, env.c, env.recv
	now := time.Now().UTC()
	schedule := &distributions.RetrySchedule{Intervals: []time.Duration{time.Second, time.Second}}
	single := distributions.Distribution{
		ID: payloads.NewID("distr_"), Name: "bench 0", Status: distributions.StatusLive, Version: 1,
		Trigger:   distributions.Trigger{Events: []string{"customer.order.paid"}},
		Action:    distributions.Action{Type: distributions.ActionPlainMessage},
		Webhook:   distributions.Webhook{EventName: "Order-paid", URL: recv.URL, Version: payloads.Version2024, RetrySchedule: schedule},
		CreatedAt: now, UpdatedAt: now,
	}
	d := distributions.Distribution{
		ID: payloads.NewID("distr_"), Name: "bench message", Status: distributions.StatusLive, Version: 1,
		Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}},
		Action: distributions.Action{Type: distributions.ActionNotifyPromotion,
			Campaign: json.RawMessage(`{"id":"camp_1"}`), PromotionTier: json.RawMessage(`{"id":"promo_1"}`)},
		Webhook:   distributions.Webhook{EventName: "Manual", URL: recv.URL, Version: payloads.Version2024, RetrySchedule: schedule},
		CreatedAt: now, UpdatedAt: now,
	}
	for _, dist := range []distributions.Distribution{single, d} {
		if err := st.CreateDistribution(ctx, dist); err != nil {
			return MessageResult{}, err
		}
	}
	if err := env.startWorker(); err != nil {
		return MessageResult{}, err
	}
	res := MessageResult{RunID: newRunID(), Customers: n}
	time.Sleep(time.Second)
	res.IdleRSSMB = rssMB()
	sampler := newRSSSampler()
	defer sampler.stop()

	// The yardstick: single events to one distribution, in the same run.
	yard, err := env.deliveries(ctx, o, res.RunID, []string{single.ID}, eventData(o.PayloadBytes))
	if err != nil {
		return MessageResult{}, err
	}
	if yard.lost > 0 {
		return MessageResult{}, fmt.Errorf("the yardstick lost %d of %d deliveries", yard.lost, yard.units)
	}
	res.DeliveriesPerSec = round1(yard.perSec())
	say("yardstick: %.1f single deliveries/s, %.1f ms CPU each", yard.perSec(), yard.cpuMsPer())

	customers := make([]json.RawMessage, n)
	for i := range customers {
		customers[i] = json.RawMessage(fmt.Sprintf(`{"id":"cust_%d","email":"c%d@example.com","name":"Customer %d"}`, i, i, i))
	}
	m := store.Message{ID: "msg_bench_" + res.RunID, DistributionID: d.ID, DistributionName: d.Name, Status: store.MessageScheduled,
		SendAt: now, CreatedAt: now, UpdatedAt: now}
	t0 := time.Now()
	if err := st.CreateMessage(ctx, m, customers); err != nil {
		return MessageResult{}, err
	}
	res.StoreInsertMs = round1(float64(time.Since(t0).Microseconds()) / 1000)
	say("stored %d customers in %.0f ms", n, res.StoreInsertMs)

	// Every customer's delivery is counted when the receiver first sees it.
	ids := make(map[string]int, n)
	for seq := range n {
		ids[payloads.DeliveryID(activities.MessageEventID(m.ID, seq), d.ID)] = seq
	}
	tr := newTracker(n, 1, nil)
	recv.expect(ids, tr)
	start, cpu0 := time.Now(), cpuTime()
	for seq := range n {
		tr.intake[seq] = start
	}
	starts := app.NewStarter(c, workflows.TaskQueue, st)
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
	deadline := time.NewTimer(10*time.Minute + time.Duration(n)*100*time.Millisecond)
	defer deadline.Stop()
	report := time.NewTicker(10 * time.Second)
	defer report.Stop()
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
wait:
	for {
		select {
		case <-tr.done:
			break wait
		case <-deadline.C:
			break wait
		case err := <-failed:
			return MessageResult{}, fmt.Errorf("the message's workflow failed: %w", err)
		case <-report.C:
			cur, _ := st.GetMessage(ctx, m.ID)
			say("  %5.0f s  %d started, %d delivered", time.Since(start).Seconds(), cur.Sent, n-tr.missing())
		case <-poll.C:
			if res.AllStartedSec == 0 {
				if cur, err := st.GetMessage(ctx, m.ID); err == nil && cur.Sent == n {
					res.AllStartedSec = round1(time.Since(start).Seconds())
				}
			}
		}
	}
	tr.mu.Lock()
	last := tr.last
	tr.mu.Unlock()
	if last.IsZero() {
		last = time.Now()
	}
	res.Lost = tr.missing()
	res.AllDeliveredSec = round1(last.Sub(start).Seconds())
	res.CustomersPerSec = round1(float64(n-res.Lost) / last.Sub(start).Seconds())
	res.CPUMsPerCustomer = round1(float64((cpuTime() - cpu0).Microseconds()) / 1000 / float64(n))
	res.RatioVsDeliveries = round2(res.CustomersPerSec / res.DeliveriesPerSec)
	res.PeakRSSMB = sampler.stop()
	res.Duplicates = recv.duplicates()
	if res.AllStartedSec > 0 {
		res.StartedPerSec = round1(float64(n) / res.AllStartedSec)
	}
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
	fmt.Fprintf(&b, "\nrun %s, one message to %d customers (one worker, SQLite):\n", res.RunID, res.Customers)
	fmt.Fprintf(&b, "  customers/s              %8.1f   (%.2fx the %.1f single deliveries/s of the same run)\n", res.CustomersPerSec, res.RatioVsDeliveries, res.DeliveriesPerSec)
	fmt.Fprintf(&b, "  store insert             %.0f ms\n", res.StoreInsertMs)
	fmt.Fprintf(&b, "  all deliveries started   %.1f s   (%.1f customers/s)\n", res.AllStartedSec, res.StartedPerSec)
	fmt.Fprintf(&b, "  all delivered            %.1f s\n", res.AllDeliveredSec)
	fmt.Fprintf(&b, "  CPU per customer         %.1f ms\n", res.CPUMsPerCustomer)
	fmt.Fprintf(&b, "  Message workflow         %d runs, longest history %d events, %d in all\n", res.Runs, res.MaxHistoryEvents, res.TotalHistoryEvents)
	fmt.Fprintf(&b, "  RSS                      idle %.0f MB, peak %.0f MB\n", res.IdleRSSMB, res.PeakRSSMB)
	fmt.Fprintf(&b, "  lost %d, duplicates %d\n", res.Lost, res.Duplicates)
	_, err := io.WriteString(w, b.String())
	return err
}
