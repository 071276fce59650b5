package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/payloads"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// messageStartConcurrency bounds the workflow starts one batch has in flight.
const messageStartConcurrency = 16

// StartMessageBatch reads a batch of a message's customers and starts the Delivery workflow
// of each, then records the progress in the store. A workflow that exists already (this
// batch ran before and was cut short) is counted, never started again: its id is derived
// from (message id, seq) and the start refuses an existing id, running or closed.
func (a *Activities) StartMessageBatch(ctx context.Context, b workflows.MessageBatch) (workflows.MessageBatchResult, error) {
	m, err := a.Store.GetMessage(ctx, b.MessageID)
	if err != nil {
		return workflows.MessageBatchResult{}, fmt.Errorf("read message %s: %w", b.MessageID, err)
	}
	if m.Status == store.MessageCanceled {
		return workflows.MessageBatchResult{}, temporal.NewNonRetryableApplicationError("message "+m.ID+" is canceled", "MessageCanceled", nil)
	}
	customers, err := a.Store.MessageCustomers(ctx, b.MessageID, b.From, b.Limit)
	if err != nil {
		return workflows.MessageBatchResult{}, fmt.Errorf("read customers of message %s from %d: %w", b.MessageID, b.From, err)
	}
	res := workflows.MessageBatchResult{Next: b.From}
	if len(customers) == 0 {
		return res, nil
	}
	c := activity.GetClient(ctx)
	taskQueue := activity.GetInfo(ctx).TaskQueue
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
	for _, cu := range customers {
		ev := MessageEvent(m, distribution, cu)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			already, err := startDelivery(ctx, c, taskQueue, ev, m.DistributionID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = err
				}
			case already:
				res.AlreadyStarted++
			default:
				res.Started++
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
		ID:        workflows.MessageEventID(m.ID, c.Seq),
		Type:      workflows.ManualEventType,
		CreatedAt: m.SendAt.UTC(),
		EntityID:  entity,
		GroupID:   m.ID,
		Source:    json.RawMessage(`{"channel":"API"}`),
		Data:      map[string]json.RawMessage{"distribution": distribution, "customer": c.Customer},
	}
}

// startDelivery starts the Delivery workflow of ev restricted to one distribution; already
// is true when a workflow of that event exists (running or closed), which is not started
// again.
func startDelivery(ctx context.Context, c client.Client, taskQueue string, ev payloads.Event, distributionID string) (already bool, err error) {
	opts := client.StartWorkflowOptions{
		ID:                                       workflows.WorkflowID(ev.ID),
		TaskQueue:                                taskQueue,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// The worker that runs this activity polls the task queue: the first workflow task
		// comes back with the start, without a round trip through matching.
		EnableEagerStart:      true,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.EventTypeKey.ValueSet(ev.Type)),
	}
	_, err = c.ExecuteWorkflow(ctx, opts, workflows.DeliveryWorkflow, workflows.DeliveryInput{Event: ev, Only: []string{distributionID}})
	var exists *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &exists) || temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("start delivery of event %s: %w", ev.ID, err)
	}
	return false, nil
}

// RecordMessage writes a message's status, as the Message workflow decided it, to the
// store: sending or sent with its progress, or canceled.
func (a *Activities) RecordMessage(ctx context.Context, r workflows.MessageRecord) error {
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
