package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
)

// DeliveryStarter starts the Delivery workflow of the customers of a message in events,
// restricted to one distribution, with the id event/<key> (starter.Starter does): already
// is true when that workflow exists, running or closed, and then nothing is started.
type DeliveryStarter interface {
	StartDeliveries(ctx context.Context, key string, events []payloads.Event, distributionID string) (already bool, err error)
}

// MessageBatch asks StartMessageBatch to start the deliveries of the customers with
// From <= seq < From+Limit, PerWorkflow of them in one workflow (one when zero, as batches
// asked before it existed). (The Message workflow sends workflows.MessageBatch, the same
// JSON: workflows and activities do not import each other.)
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

// MessageRecord is a message status for the store, as the Message workflow decided it:
// sending or sent (with Sent), or canceled.
type MessageRecord struct {
	MessageID string    `json:"message_id"`
	Status    string    `json:"status"`
	Sent      int       `json:"sent"`
	At        time.Time `json:"at"`
}

// MessageEventID is the id of the event of customer seq of a message (payloads.MessageEventID).
func MessageEventID(messageID string, seq int) string { return payloads.MessageEventID(messageID, seq) }

// messageStartConcurrency bounds the workflow starts one batch has in flight.
const messageStartConcurrency = 16

// StartMessageBatch reads a batch of a message's customers and starts their deliveries,
// PerWorkflow customers (consecutive) in each Delivery workflow, then records the progress
// in the store. A workflow that exists already (this batch ran before and was cut short)
// is counted, never started again: its id is derived from (message id, the seqs it
// delivers), the same when the batch runs again, and the start refuses an existing id,
// running or closed.
func (a *Activities) StartMessageBatch(ctx context.Context, b MessageBatch) (MessageBatchResult, error) {
	m, err := a.Store.GetMessage(ctx, b.MessageID)
	if err != nil {
		return MessageBatchResult{}, fmt.Errorf("read message %s: %w", b.MessageID, err)
	}
	if m.Status == store.MessageCanceled {
		return MessageBatchResult{}, temporal.NewNonRetryableApplicationError("message "+m.ID+" is canceled", "MessageCanceled", nil)
	}
	customers, err := a.Store.MessageCustomers(ctx, b.MessageID, b.From, b.Limit)
	if err != nil {
		return MessageBatchResult{}, fmt.Errorf("read customers of message %s from %d: %w", b.MessageID, b.From, err)
	}
	res := MessageBatchResult{Next: b.From}
	if len(customers) == 0 {
		return res, nil
	}
	if a.Deliveries == nil {
		return res, temporal.NewNonRetryableApplicationError("this worker cannot start deliveries (activities.Activities.Deliveries is not set)", "Misconfigured", nil)
	}
	distribution, err := json.Marshal(map[string]string{"id": m.DistributionID, "name": m.DistributionName, "message_id": m.ID})
	if err != nil {
		return res, err
	}

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, messageStartConcurrency)
	)
	per := max(b.PerWorkflow, 1)
	for from := 0; from < len(customers); from += per {
		group := customers[from:min(from+per, len(customers))]
		events := make([]payloads.Event, len(group))
		for i, cu := range group {
			events[i] = MessageEvent(m, distribution, cu)
		}
		key := events[0].ID
		if len(group) > 1 {
			key = payloads.MessageGroupKey(m.ID, group[0].Seq, group[len(group)-1].Seq)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			already, err := a.Deliveries.StartDeliveries(ctx, key, events, m.DistributionID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			case already:
				res.AlreadyStarted += len(events)
			default:
				res.Started += len(events)
			}
			activity.RecordHeartbeat(ctx, res.Started+res.AlreadyStarted)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		// The batch runs again; what was started now counts as already started then.
		return res, firstErr
	}
	res.Next = customers[len(customers)-1].Seq + 1
	if _, err := a.Store.AdvanceMessage(ctx, m.ID, store.MessageSending, res.Next, time.Now()); err != nil {
		return res, fmt.Errorf("record progress of message %s: %w", m.ID, err)
	}
	return res, nil
}

// MessageEvent is the manual_distribution_schedule event of one customer of a message:
// data holds the distribution and the customer (spec section 5). Its created_at is the
// message's send time, the same on every attempt.
func MessageEvent(m store.Message, distribution json.RawMessage, c store.MessageCustomer) payloads.Event {
	var ids struct {
		ID       string `json:"id"`
		SourceID string `json:"source_id"`
	}
	_ = json.Unmarshal(c.Customer, &ids)
	entity := ids.ID
	if entity == "" {
		entity = ids.SourceID
	}
	if len(entity) > 256 {
		entity = ""
	}
	return payloads.Event{
		ID:        MessageEventID(m.ID, c.Seq),
		Type:      payloads.ManualEventType,
		CreatedAt: m.SendAt.UTC(),
		EntityID:  entity,
		GroupID:   m.ID,
		Source:    json.RawMessage(`{"channel":"API"}`),
		Data:      map[string]json.RawMessage{"distribution": distribution, "customer": c.Customer},
	}
}

// RecordMessage writes a message's status, as the Message workflow decided it, to the
// store: sending or sent with its progress, or canceled.
func (a *Activities) RecordMessage(ctx context.Context, r MessageRecord) error {
	var err error
	switch r.Status {
	case store.MessageCanceled:
		_, err = a.Store.CancelMessage(ctx, r.MessageID, r.At)
	case store.MessageSending, store.MessageSent:
		_, err = a.Store.AdvanceMessage(ctx, r.MessageID, r.Status, r.Sent, r.At)
	default:
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("unknown message status %q", r.Status), "InvalidStatus", nil)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("record message %s as %s: %v", r.MessageID, r.Status, err), "MessageConflict", nil)
	}
	return err
}
