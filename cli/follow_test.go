package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/api"
	"github.com/hookflow/hookflow/deliverylog"
	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// scriptedLog plays the delivery log for --follow: each read of the delivery answers the
// next state of steps (the last one from then on); a nil step is "not found yet".
type scriptedLog struct {
	cliLog
	mu    sync.Mutex
	steps []*deliverylog.Delivery
	reads int
}

func (l *scriptedLog) Delivery(_ context.Context, id string) (deliverylog.Delivery, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	step := l.steps[min(l.reads, len(l.steps)-1)]
	l.reads++
	if step == nil {
		return deliverylog.Delivery{}, deliverylog.ErrNotFound
	}
	return *step, nil
}

// followed is a delivery of one run whose attempts are as given, with status.
func followed(status, reason, lastError string, attempts ...deliverylog.Attempt) *deliverylog.Delivery {
	started := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return &deliverylog.Delivery{ID: "whs_f", EventID: "evt_f", EventType: "customer.order.paid", DistributionID: "distr_f",
		URL: "https://example.com/f", Status: status, Reason: reason, LastError: lastError, WorkflowID: "event/evt_f", Attempts: attempts,
		Runs: []deliverylog.DeliveryRun{{WorkflowID: "event/evt_f", RunID: "run1", Status: status, StartedAt: started, Attempts: attempts}}}
}

func attemptAt(n int, outcome string, status int, errMsg string) deliverylog.Attempt {
	at := time.Date(2026, 12, 1, 10, n, 0, 0, time.UTC)
	return deliverylog.Attempt{Number: n, StartedAt: &at, EndedAt: &at, Outcome: outcome, StatusCode: status, LatencyMs: 5, Error: errMsg}
}

// TestDeliveriesFollow: deliveries show --follow reads the delivery until it is final,
// printing it, then each attempt once as it ends (none while it runs) and each change of
// status; it waits a little for an id not known yet; -o jsonl prints an object per attempt
// and the end; it exits 1 unless the delivery was delivered; bad flags are refused.
func TestDeliveriesFollow(t *testing.T) {
	failed1 := attemptAt(1, "retryable", 503, "HTTP 503 from https://example.com/f")
	running2 := deliverylog.Attempt{Number: 2, Outcome: "running"}
	delivered2 := attemptAt(2, "delivered", 200, "")
	retried := []*deliverylog.Delivery{
		nil, // not in the log yet
		followed("attempting", "", "", deliverylog.Attempt{Number: 1, Outcome: "running"}),
		followed(workflows.StatusRetrying, "", failed1.Error, failed1),
		followed(workflows.StatusRetrying, "", failed1.Error, failed1),
		followed("attempting", "", "", failed1, running2),
		followed(workflows.StatusDelivered, "", "", failed1, delivered2),
	}
	log := &scriptedLog{steps: retried}
	h, _ := newHarness(t, &api.Server{Starter: &cliMessages{}, Log: log})

	out, _, err := h.run("deliveries", "show", "whs_f", "--follow", "--interval", "100ms")
	if err != nil {
		t.Fatalf("--follow: %v\n%s", err, out)
	}
	if log.reads != len(retried) {
		t.Errorf("%d reads of %d states: --follow did not stop at the final one", log.reads, len(retried))
	}
	if strings.Count(out, "attempt 1:") != 1 || strings.Count(out, "attempt 2:") != 1 || strings.Count(out, "delivery whs_f:") != 1 ||
		!strings.Contains(out, "delivery whs_f: attempting") || !strings.Contains(out, "retrying: HTTP 503 from https://example.com/f") ||
		!strings.Contains(out, "attempt 2: delivered 200 in 5ms") || !strings.HasSuffix(out, "  delivered\n") ||
		strings.Index(out, "attempt 1: retryable 503") > strings.Index(out, "attempt 2: delivered") {
		t.Errorf("--follow printed:\n%s", out)
	}

	log.steps, log.reads = retried[1:], 0
	out, _, err = h.run("deliveries", "show", "whs_f", "-f", "--interval", "100ms", "-o", "jsonl")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var objects []map[string]any
	for _, l := range lines {
		var o map[string]any
		if json.Unmarshal([]byte(l), &o) != nil {
			t.Fatalf("-o jsonl: not a JSON line %q", l)
		}
		objects = append(objects, o)
	}
	if err != nil || len(objects) != 3 || objects[0]["object"] != "attempt" || objects[0]["number"] != float64(1) || objects[0]["delivery_id"] != "whs_f" ||
		objects[0]["run_id"] != "run1" || objects[1]["status_code"] != float64(200) || objects[2]["object"] != "delivery" || objects[2]["status"] != "delivered" {
		t.Errorf("-o jsonl: %v\n%s", err, out)
	}

	log.steps, log.reads = retried[1:], 0
	out, _, err = h.run("deliveries", "show", "whs_f", "--follow", "--interval", "100ms", "-o", "json")
	var final deliverylog.Delivery
	if err != nil || json.Unmarshal([]byte(out), &final) != nil || final.Status != workflows.StatusDelivered || len(final.Attempts) != 2 {
		t.Errorf("-o json prints the final delivery once: %v\n%s", err, out)
	}

	log.steps, log.reads = []*deliverylog.Delivery{followed(workflows.StatusFailed, "exhausted", "HTTP 503 from https://example.com/f", failed1)}, 0
	out, _, err = h.run("deliveries", "show", "whs_f", "--follow")
	if err == nil || err.Error() != "delivery whs_f ended failed (exhausted): HTTP 503 from https://example.com/f" || !strings.Contains(out, "delivery whs_f: failed (exhausted)") {
		t.Errorf("a failed delivery: %v\n%s", err, out)
	}
	log.steps, log.reads = []*deliverylog.Delivery{followed(workflows.StatusSkipped, "paused", "")}, 0
	if _, _, err := h.run("deliveries", "show", "whs_f", "--follow"); err == nil || err.Error() != "delivery whs_f ended skipped (paused)" {
		t.Errorf("a skipped delivery: %v", err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--follow", "--interval", "0s"}, "--interval 0s: want a duration from 100ms to 1h, such as 1s"},
		{[]string{"--follow", "--interval", "-1s"}, "--interval -1s: want a duration from 100ms to 1h"},
		{[]string{"--follow", "--interval", "2h"}, "--interval 2h0m0s: want a duration from 100ms to 1h"},
		{[]string{"--follow", "--interval", "soon"}, `invalid argument "soon" for "--interval"`},
		{[]string{"--interval", "1s"}, "--interval goes with --follow"},
		{[]string{"--follow=maybe"}, `invalid argument "maybe" for "-f, --follow"`},
	} {
		reads := log.reads
		_, _, err := h.run(append([]string{"deliveries", "show", "whs_f"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || log.reads != reads {
			t.Errorf("%v: %v, want %q and no read", tc.args, err, tc.want)
		}
	}
}

// TestDeliveriesFollowStopsOnCancel: Ctrl-C (the command's context ending) stops --follow
// at once, without an error, even while a read is in flight.
func TestDeliveriesFollowStopsOnCancel(t *testing.T) {
	log := &scriptedLog{steps: []*deliverylog.Delivery{followed(workflows.StatusRetrying, "", "")}}
	h, _ := newHarness(t, &api.Server{Starter: &cliMessages{}, Log: log})
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		root := newRootCommand(func(string) string { return "" })
		root.SetArgs([]string{"deliveries", "show", "whs_f", "--follow", "--interval", "1h", "--api", h.api})
		root.SetOut(&out)
		root.SetErr(&out)
		done <- root.ExecuteContext(ctx)
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		log.mu.Lock()
		reads := log.reads
		log.mu.Unlock()
		if reads > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("--follow read nothing")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("--follow stopped with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("--follow did not stop on cancel")
	}
}

// TestMessagesWatch: messages show --watch prints a line per change of the message until
// it is sent (not on a terminal: no bar, no carriage return), -o jsonl an object per
// change; bad flags are refused.
func TestMessagesWatch(t *testing.T) {
	h, st := newHarness(t, &api.Server{Starter: &cliMessages{}})
	ctx := t.Context()
	now := time.Now().UTC()
	if err := st.CreateDistribution(ctx, distributions.Distribution{ID: "distr_w", Name: "Watched", Status: "live", Version: 1,
		Trigger: distributions.Trigger{Events: []string{workflows.ManualEventType}}, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMessage(ctx, store.Message{ID: "msg_w", DistributionID: "distr_w", DistributionName: "Watched", Status: store.MessageScheduled,
		SendAt: now.Add(time.Second), Total: 4, CreatedAt: now, UpdatedAt: now},
		[]json.RawMessage{[]byte(`{"id":"a"}`), []byte(`{"id":"b"}`), []byte(`{"id":"c"}`), []byte(`{"id":"d"}`)}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for _, sent := range []int{2, 4} {
			time.Sleep(400 * time.Millisecond)
			status := store.MessageSending
			if sent == 4 {
				status = store.MessageSent
			}
			if _, err := st.AdvanceMessage(context.Background(), "msg_w", status, sent, time.Now()); err != nil {
				t.Error(err)
			}
		}
	}()
	out, _, err := h.run("messages", "show", "msg_w", "--watch", "--interval", "100ms")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || strings.Contains(out, "\r") ||
		!strings.Contains(lines[0], "msg_w 0/4 sent (0%), scheduled, sends at ") ||
		!strings.HasSuffix(lines[1], "msg_w 2/4 sent (50%), sending") || !strings.HasSuffix(lines[2], "msg_w 4/4 sent (100%), sent") {
		t.Errorf("--watch: %v\n%s", err, out)
	}

	out, _, err = h.run("messages", "show", "msg_w", "-w", "-o", "jsonl")
	var m api.MessageView
	if err != nil || strings.Count(out, "\n") != 1 || json.Unmarshal([]byte(out), &m) != nil || m.Status != store.MessageSent || m.Sent != 4 {
		t.Errorf("--watch -o jsonl of a sent message: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"msg_w", "--watch", "--interval", "1ms"}, "--interval 1ms: want a duration from 100ms to 1h"},
		{[]string{"msg_w", "--interval", "1s"}, "--interval goes with --watch"},
		{[]string{"msg_nope", "--watch"}, "404 not_found"},
	} {
		if _, _, err := h.run(append([]string{"messages", "show"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestProgressBar: the bar fills with the share of customers sent, within its width.
func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		sent, total int
		status      string
		want        string
	}{
		{0, 4, store.MessageSending, "msg_1 [>         ] 0/4 sent (0%), sending"},
		{1, 4, store.MessageSending, "msg_1 [==>       ] 1/4 sent (25%), sending"},
		{4, 4, store.MessageSent, "msg_1 [==========] 4/4 sent (100%), sent"},
		{0, 0, store.MessageCanceled, "msg_1 [>         ] 0/0 sent (0%), canceled"},
	} {
		m := api.MessageView{Message: store.Message{ID: "msg_1", Status: tc.status, Sent: tc.sent, Total: tc.total}}
		if got := progressBar(m, 10); got != tc.want {
			t.Errorf("%d/%d: %q, want %q", tc.sent, tc.total, got, tc.want)
		}
	}
}
