package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/api"
)

func newSendCommand(g *globalFlags) *cobra.Command {
	var typ, data, id, entityID, groupID string
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Send an event to hookflow",
		Example: `  hookflow send --type customer.order.paid --data '{"customer":{"id":"cust_1"},"order":{"id":"ord_1","amount":12000}}'
  hookflow send --type customer.order.paid --data @order.json --id evt_123
  cat order.json | hookflow send --type customer.order.paid --data -`,
		Args: usageArgs,
		RunE: g.withClient(func(c *apiClient, cmd *cobra.Command, _ []string) error {
			if typ == "" {
				return errors.New("--type is required, e.g. --type customer.order.paid")
			}
			if data == "" {
				return errors.New("--data is required: JSON, @file or - for standard input")
			}
			raw, err := readValue(cmd, "data", data, api.MaxEventBytes)
			if err != nil {
				return err
			}
			if err := checkJSONFlag("data", raw); err != nil {
				return err
			}
			ev := map[string]any{"type": typ, "data": json.RawMessage(raw)}
			for k, v := range map[string]string{"id": id, "entity_id": entityID, "group_id": groupID} {
				if v != "" {
					ev[k] = v
				}
			}
			body, err := jsonBody(ev)
			if err != nil {
				return err
			}
			var h struct {
				ID         string `json:"id"`
				WorkflowID string `json:"workflow_id"`
				RunID      string `json:"run_id"`
			}
			if err := c.create("/v1/events", body, &h); err != nil {
				return namingFlag(err, map[string]string{"type": "--type", "data": "--data", "id": "--id", "entity_id": "--entity-id", "group_id": "--group-id"})
			}
			if !c.isText() {
				return c.data(h)
			}
			fmt.Fprintf(c.out, "accepted event %s (workflow %s)\n", h.ID, h.WorkflowID)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "event type, e.g. customer.order.paid")
	f.StringVar(&data, "data", "", "the event's objects: JSON, @file or - for standard input")
	f.StringVar(&id, "id", "", "event id (idempotency key); generated when empty")
	f.StringVar(&entityID, "entity-id", "", "id of the object the event is about")
	f.StringVar(&groupID, "group-id", "", "id of the request that caused the event")
	g.idempotencyFlag(cmd)
	return cmd
}
