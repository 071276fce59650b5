package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/payloads"
)

// The Message workflow sends a manual or bulk message: it waits the delay, during which the
// message can be canceled, then starts the deliveries of its customers in batches, each
// Delivery workflow delivering to MessageDeliveriesPerWorkflow of them. The customers stay
// in the store (they are too many for workflow inputs): each batch is one activity that
// reads them and starts their deliveries, idempotently by the customers' seqs.
const (
	MessageWorkflow = "Message"
	// ActivityStartMessageBatch reads a batch of customers and starts their deliveries.
	ActivityStartMessageBatch = "StartMessageBatch"
	// ActivityRecordMessage writes the message's status to the store.
	ActivityRecordMessage = "RecordMessage"
	// UpdateCancelMessage cancels a message during its delay; refused once sending began.
	UpdateCancelMessage = "cancel"
	// QueryMessageProgress answers the workflow's MessageProgress.
	QueryMessageProgress = "progress"
	// ManualEventType is the event type of every delivery of a message.
	ManualEventType = payloads.ManualEventType
)

// Message statuses, as the store keeps them.
const (
	MessageScheduled = "scheduled"
	MessageSending   = "sending"
	MessageSent      = "sent"
	MessageCanceled  = "canceled"
)

// ErrTypeMessageNotCancelable is the ApplicationError type of a refused cancel.
const ErrTypeMessageNotCancelable = "MessageNotCancelable"

// MessageBatchSize is how many customers one StartMessageBatch activity takes.
const MessageBatchSize = 200

// MessageBatchesPerRun is how many batches one run sends before it continues as new, so
// that no history grows with the number of customers.
const MessageBatchesPerRun = 20

// MessageDeliveriesPerWorkflow is how many customers one Delivery workflow delivers to: the
// cost of a workflow (its start, first task, close and visibility records) is shared by
// them, as by the distributions of an event that many take, and each delivery keeps its
// own id, schedule and attempts. 40 delivery ids fit the HookflowDeliveries search
// attribute (maxSearchAttributeBytes), so every customer's delivery can be found by its id.
const MessageDeliveriesPerWorkflow = 40

// MessageWorkflowID is the id of the workflow of message id: one per message.
func MessageWorkflowID(messageID string) string { return "message/" + messageID }

// MessageInput starts (or continues) a Message workflow. The first run has Sending false
// and waits until SendAt; continued runs carry the next customer to send.
type MessageInput struct {
	MessageID string    `json:"message_id"`
	SendAt    time.Time `json:"send_at"`
	Total     int       `json:"total"`
	// NextSeq is the first customer not yet started; Sending says the delay is over.
	NextSeq int  `json:"next_seq,omitempty"`
	Sending bool `json:"sending,omitempty"`
	// Run counts the runs of this message's workflow, from 1.
	Run int `json:"run,omitempty"`
	// BatchSize, BatchesPerRun and DeliveriesPerWorkflow override the defaults (tests).
	BatchSize             int `json:"batch_size,omitempty"`
	BatchesPerRun         int `json:"batches_per_run,omitempty"`
	DeliveriesPerWorkflow int `json:"deliveries_per_workflow,omitempty"`
}

// MessageProgress is what the progress query, the cancel update and the workflow's result
// say.
type MessageProgress struct {
	MessageID  string     `json:"message_id"`
	Status     string     `json:"status"`
	Total      int        `json:"total"`
	Sent       int        `json:"sent"`
	SendAt     time.Time  `json:"send_at"`
	CanceledAt *time.Time `json:"canceled_at,omitempty"`
	Run        int        `json:"run"`
}

// MessageBatch, MessageBatchResult and MessageRecord are the arguments and results of the
// message activities; activities declares the same JSON (workflows and activities do not
// import each other).

// MessageBatch asks the activity to start the deliveries of the customers with
// From <= seq < From+Limit, PerWorkflow of them in one Delivery workflow.
type MessageBatch struct {
	MessageID   string `json:"message_id"`
	From        int    `json:"from"`
	Limit       int    `json:"limit"`
	PerWorkflow int    `json:"per_workflow,omitempty"`
}

// MessageBatchResult says what a batch did. Next is the first seq after the batch.
type MessageBatchResult struct {
	Next           int `json:"next"`
	Started        int `json:"started"`
	AlreadyStarted int `json:"already_started"`
}

// MessageRecord is a status for the store: sending or sent (with Sent), or canceled.
type MessageRecord struct {
	MessageID string    `json:"message_id"`
	Status    string    `json:"status"`
	Sent      int       `json:"sent"`
	At        time.Time `json:"at"`
}

var messageBatchOptions = workflow.ActivityOptions{
	// A batch is at most a few hundred workflow starts; a worker lost mid-batch is noticed
	// by the missing heartbeat and the batch is run again, which starts only what is missing.
	// The activity heartbeats after every start (milliseconds each), so 5 s without one mean
	// the worker is gone; a start slower than that only runs the batch again, which starts
	// nothing twice. With 20 s, sending stood still 20 s after a kill (docs/messages.md).
	StartToCloseTimeout: 5 * time.Minute,
	HeartbeatTimeout:    5 * time.Second,
	RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
}

// Message waits the delay and sends the message to every customer; see the constants above.
func Message(ctx workflow.Context, in MessageInput) (MessageProgress, error) {
	batchSize, perRun, perWorkflow := in.BatchSize, in.BatchesPerRun, in.DeliveriesPerWorkflow
	if batchSize <= 0 {
		batchSize = MessageBatchSize
	}
	if perWorkflow <= 0 {
		perWorkflow = MessageDeliveriesPerWorkflow
	}
	if perRun <= 0 {
		perRun = MessageBatchesPerRun
	}
	p := MessageProgress{MessageID: in.MessageID, Status: MessageScheduled, Total: in.Total, Sent: in.NextSeq, SendAt: in.SendAt, Run: max(in.Run, 1)}
	if in.Sending {
		p.Status = MessageSending
	}
	if err := workflow.SetQueryHandler(ctx, QueryMessageProgress, func() (MessageProgress, error) { return p, nil }); err != nil {
		return p, err
	}
	notCancelable := func() error {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("message %s is already %s", in.MessageID, p.Status), ErrTypeMessageNotCancelable, nil)
	}
	// The check and the change are one step of the workflow's single thread: a cancel either
	// comes before sending begins (and nothing is sent) or is refused.
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancelMessage, func(ctx workflow.Context) (MessageProgress, error) {
		switch p.Status {
		case MessageCanceled:
			return p, nil
		case MessageScheduled:
			at := workflow.Now(ctx).UTC()
			p.Status, p.CanceledAt = MessageCanceled, &at
			return p, nil
		}
		return p, notCancelable()
	}, workflow.UpdateHandlerOptions{Validator: func() error {
		if p.Status != MessageScheduled && p.Status != MessageCanceled {
			return notCancelable()
		}
		return nil
	}}); err != nil {
		return p, err
	}
	record := func(status string) error {
		actCtx := workflow.WithActivityOptions(ctx, sideEffectOptions)
		at := workflow.Now(ctx).UTC()
		if status == MessageCanceled && p.CanceledAt != nil {
			at = *p.CanceledAt
		}
		return workflow.ExecuteActivity(actCtx, ActivityRecordMessage, MessageRecord{MessageID: in.MessageID, Status: status, Sent: p.Sent, At: at}).Get(ctx, nil)
	}

	if !in.Sending {
		if wait := in.SendAt.Sub(workflow.Now(ctx)); wait > 0 {
			if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return p.Status == MessageCanceled }); err != nil {
				return p, err
			}
		}
		if p.Status == MessageCanceled {
			return p, record(MessageCanceled)
		}
		p.Status = MessageSending
		if err := record(MessageSending); err != nil {
			return p, err
		}
	}

	batchCtx := workflow.WithActivityOptions(ctx, messageBatchOptions)
	for batches := 0; p.Sent < p.Total; batches++ {
		if batches == perRun || (batches > 0 && workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return p, err
			}
			next := in
			next.NextSeq, next.Sending, next.Run = p.Sent, true, p.Run+1
			return p, workflow.NewContinueAsNewError(ctx, MessageWorkflow, next)
		}
		var r MessageBatchResult
		if err := workflow.ExecuteActivity(batchCtx, ActivityStartMessageBatch, MessageBatch{MessageID: in.MessageID, From: p.Sent, Limit: batchSize, PerWorkflow: perWorkflow}).Get(ctx, &r); err != nil {
			return p, err
		}
		if r.Next <= p.Sent {
			// The store has no customer from here: the total counted more than it holds.
			workflow.GetLogger(ctx).Error("message has fewer customers than its total", "message", in.MessageID, "sent", p.Sent, "total", p.Total)
			break
		}
		p.Sent = r.Next
	}
	p.Status = MessageSent
	if err := record(MessageSent); err != nil {
		return p, err
	}
	return p, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}
