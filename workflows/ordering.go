package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/distributions"
)

// Ordered delivery (docs/distributions.md, "Ordered delivery"): every ordered distribution
// has one Stream workflow per key value. The starter enqueues an event's workflow id on
// the streams of its ordered distributions before it answers the event's intake, so that
// a stream's queue is in intake order. The stream grants its head a turn (a signal to the
// event's Delivery workflow), waits for the head's delivery to be final, then grants the
// next. All of it is workflow state: a restart of any process loses no place in a queue.

// StreamWorkflow is the name the stream workflow is registered under.
const StreamWorkflow = "OrderedStream"

// Signals of ordered delivery.
const (
	// SignalEnqueue, to a stream, appends an event's workflow id (StreamItem).
	SignalEnqueue = "enqueue"
	// SignalDone, to a stream, says that an event's delivery to the stream's distribution
	// is final (StreamItem): delivered, failed for good, or not made (no match).
	SignalDone = "done"
	// signalTurnPrefix + distribution id, to a Delivery workflow, grants its delivery to
	// that distribution its turn. One channel per distribution: one delivery waits on it.
	signalTurnPrefix = "turn/"
)

// StatusQueued is the HookflowStatus of an event whose ordered deliveries wait for their
// turn (and whose other deliveries have had their first attempt).
const StatusQueued = "queued"

// StreamItem names one event's workflow in a stream's signals.
type StreamItem struct {
	WorkflowID string `json:"workflow_id"`
}

// StreamInput starts (or continues) a stream.
type StreamInput struct {
	DistributionID string `json:"distribution_id"`
	// Queue is the workflow ids waiting, in intake order.
	Queue []string `json:"queue,omitempty"`
	// Recent are the last workflow ids granted a turn, oldest first: an event enqueued again
	// (submitted twice) while it is remembered is not queued a second time.
	Recent []string `json:"recent,omitempty"`
}

// OrderedTarget is one ordered distribution of an event, as the starter enqueued it: the
// Delivery workflow waits for its turn on Stream before sending to it.
type OrderedTarget struct {
	DistributionID string `json:"distribution_id"`
	Stream         string `json:"stream"`
}

// StreamID is the workflow id of the stream of key in distribution distrID. The key is
// hashed: it may be long, and it is the receiver's data, which an id shows everywhere.
func StreamID(distrID, key string) string {
	sum := sha256.Sum256([]byte(key))
	return "stream/" + distrID + "/" + hex.EncodeToString(sum[:12])
}

// OrderedTargets are the streams an event goes on at intake: one per live candidate with
// ordering whose trigger takes the event's type, in the snapshot's order. The Delivery
// workflow makes the final decision (conditions, live window); for a distribution it
// does not deliver to, it says done at once.
func OrderedTargets(snap *distributions.Snapshot, eventType string, key func(distributions.Distribution) string) []OrderedTarget {
	if snap == nil {
		return nil
	}
	var out []OrderedTarget
	for _, d := range snap.Candidates {
		if d.Webhook.Ordering == nil || d.Status != distributions.StatusLive || !d.SubscribesTo(eventType) {
			continue
		}
		out = append(out, OrderedTarget{DistributionID: d.ID, Stream: StreamID(d.ID, key(d))})
	}
	return out
}

// Tunables of the stream; variables so that tests can make them small.
var (
	// streamIdle is how long a stream with nothing queued lives on: a burst on one key
	// keeps one run, and an idle key costs nothing after it.
	streamIdle = 5 * time.Minute
	// streamContinueAfter is how many turns one run grants before it continues as new,
	// carrying its queue, to keep its history short.
	streamContinueAfter = 500
	// streamRecent is how many granted ids a stream remembers to drop duplicates.
	streamRecent = 1000
	// streamCheck is how often a stream asks whether its head still runs, while it waits for
	// the head's done: a Delivery workflow that was terminated never says done.
	streamCheck = 10 * time.Minute
	// streamNotFound are the waits before a turn is granted again to a head whose workflow
	// is not found: the starter enqueues before it starts the event's workflow. After the
	// last, the head is dropped (its start failed, or it had already finished).
	streamNotFound = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second}
)

// Stream grants turns to the workflows of one stream, one at a time, in the order they
// were enqueued.
func Stream(ctx workflow.Context, in StreamInput) error {
	logger := workflow.GetLogger(ctx)
	enqueue := workflow.GetSignalChannel(ctx, SignalEnqueue)
	done := workflow.GetSignalChannel(ctx, SignalDone)
	// head is the workflow granted its turn whose delivery is not final yet; a run continues
	// as new only without one.
	head, queue, recent := "", in.Queue, in.Recent
	// remember notes an id granted its turn, or dropped from the queue by a done that came
	// before its turn (a delivery that matched nothing): enqueued again, it is not queued.
	remember := func(id string) {
		recent = append(recent, id)
		if len(recent) > streamRecent {
			recent = slices.Clone(recent[len(recent)-streamRecent:])
		}
	}
	onEnqueue := func(item StreamItem) {
		if item.WorkflowID == "" || item.WorkflowID == head || slices.Contains(queue, item.WorkflowID) || slices.Contains(recent, item.WorkflowID) {
			return
		}
		queue = append(queue, item.WorkflowID)
	}
	onDone := func(item StreamItem) {
		if item.WorkflowID == head {
			head = ""
			return
		}
		if i := slices.Index(queue, item.WorkflowID); i >= 0 {
			queue = slices.Delete(queue, i, i+1)
			remember(item.WorkflowID)
		}
	}
	drain := func() bool {
		got := false
		for {
			var item StreamItem
			if enqueue.ReceiveAsync(&item) {
				onEnqueue(item)
				got = true
				continue
			}
			if done.ReceiveAsync(&item) {
				onDone(item)
				got = true
				continue
			}
			return got
		}
	}
	// One timer at a time, kept across signals: the idle timer while nothing is granted,
	// the check timer of the head while it is; each started and canceled once, not on
	// every signal (two history events each time).
	var timer workflow.Future
	var cancelTimer workflow.CancelFunc
	timerFor := "" // "idle", or the head it checks; "" when none is running
	setTimer := func(what string, d time.Duration) {
		if timerFor == what {
			return
		}
		if cancelTimer != nil {
			cancelTimer()
		}
		tctx, cancel := workflow.WithCancel(ctx)
		timer, cancelTimer, timerFor = workflow.NewTimer(tctx, d), cancel, what
	}
	granted := 0
	for {
		drain()
		if head == "" && len(queue) > 0 {
			if granted >= streamContinueAfter {
				return workflow.NewContinueAsNewError(ctx, StreamWorkflow,
					StreamInput{DistributionID: in.DistributionID, Queue: queue, Recent: recent})
			}
			next := queue[0]
			queue = slices.Delete(queue, 0, 1)
			remember(next)
			granted++
			if grantTurn(ctx, in.DistributionID, next) {
				head = next
			} else {
				logger.Warn("stream: workflow not found, skipped", "workflow", next)
			}
			continue
		}
		if head == "" {
			setTimer("idle", streamIdle)
		} else {
			setTimer(head, streamCheck)
		}
		fired := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(enqueue, func(c workflow.ReceiveChannel, _ bool) {
			var item StreamItem
			c.Receive(ctx, &item)
			onEnqueue(item)
		})
		sel.AddReceive(done, func(c workflow.ReceiveChannel, _ bool) {
			var item StreamItem
			c.Receive(ctx, &item)
			onDone(item)
		})
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		sel.Select(ctx)
		if !fired {
			continue
		}
		what := timerFor
		timerFor, cancelTimer = "", nil
		switch {
		case what == "idle" && head == "":
			if !drain() {
				return nil // idle: a later enqueue starts a new run
			}
		case what == head && !signalTurn(ctx, in.DistributionID, head):
			// Its workflow ended without saying done (terminated, or reset): go on.
			logger.Warn("stream: head ended without done, skipped", "workflow", head)
			head = ""
		}
	}
}

// grantTurn signals workflowID its turn, again after a wait while it is not found (it may
// not have started yet); false when it never is.
func grantTurn(ctx workflow.Context, distrID, workflowID string) bool {
	for i := 0; ; i++ {
		if signalTurn(ctx, distrID, workflowID) {
			return true
		}
		if i == len(streamNotFound) {
			return false
		}
		if err := workflow.Sleep(ctx, streamNotFound[i]); err != nil {
			return false
		}
	}
}

// signalTurn signals workflowID its turn; false when the signal failed (no such running
// workflow).
func signalTurn(ctx workflow.Context, distrID, workflowID string) bool {
	err := workflow.SignalExternalWorkflow(ctx, workflowID, "", signalTurnPrefix+distrID, nil).Get(ctx, nil)
	return err == nil
}

// TurnSignal is the name of the signal that grants a Delivery workflow's delivery to
// distrID its turn; the delivery log reads it to tell a queued delivery.
func TurnSignal(distrID string) string { return signalTurnPrefix + distrID }

// awaitTurn, in a Delivery workflow, waits for the turn of its delivery to distrID. It is
// a durable wait: a restart finds it waiting, or past it.
func awaitTurn(ctx workflow.Context, distrID string) {
	workflow.GetSignalChannel(ctx, signalTurnPrefix+distrID).Receive(ctx, nil)
}

// sayDone tells the stream that this workflow's delivery to its distribution is final, and
// waits for the signal to be sent: the server drops an external signal whose sender has
// closed. A stream that is gone (it would only be after its check found this workflow
// ended) needs nothing.
func sayDone(ctx workflow.Context, o OrderedTarget) {
	err := workflow.SignalExternalWorkflow(ctx, o.Stream, "", SignalDone,
		StreamItem{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID}).Get(ctx, nil)
	if err != nil && !temporal.IsCanceledError(err) {
		workflow.GetLogger(ctx).Warn("stream: done not delivered", "stream", o.Stream, "error", err)
	}
}

// answerLateTurns, once the delivery to o's distribution is final and said done, answers
// every later turn on it with done again: the event was queued a second time (submitted
// again after the stream forgot it) while this workflow still runs for other deliveries,
// and its stream must not wait on it. A check of the stream that crosses the first done is
// answered too; the stream ignores a done of a workflow that is not its head.
func answerLateTurns(ctx workflow.Context, o OrderedTarget) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		ch := workflow.GetSignalChannel(ctx, TurnSignal(o.DistributionID))
		for {
			ch.Receive(ctx, nil)
			sayDone(ctx, o)
		}
	})
}

// orderedOf maps the ordered distributions of in that the event is delivered to (ids) to
// their streams, and says done at once to the streams of the others (conditions that did
// not hold, a paused distribution): nothing is sent to them, and the events behind go on.
// Without in.Ordered it is nil and does nothing; a workflow of many events (a message)
// is never ordered.
func orderedOf(ctx workflow.Context, in DeliveryInput, events int, ids []string) map[string]OrderedTarget {
	if len(in.Ordered) == 0 || events != 1 {
		return nil
	}
	out := map[string]OrderedTarget{}
	for _, o := range in.Ordered {
		if slices.Contains(ids, o.DistributionID) {
			out[o.DistributionID] = o
		} else {
			sayDone(ctx, o)
		}
	}
	return out
}
