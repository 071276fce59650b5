package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hookflow/hookflow/starter"
)

func TestEvents(t *testing.T) {
	srv, fs, _ := newAPI(t)
	nested := strings.Repeat(`{"x":`, 20000) + "1" + strings.Repeat("}", 20000)
	tests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"valid", `{"id":"evt_1","type":"customer.order.paid","data":{"order":{"id":"o"}}}`, 202, ""},
		{"no id", `{"type":"customer.order.paid","data":{}}`, 202, ""},
		{"empty", ``, 400, ""},
		{"malformed", `{"type":"customer.order.paid","data":{`, 400, ""},
		{"missing type", `{"data":{}}`, 400, "type"},
		{"missing data", `{"type":"customer.order.paid"}`, 400, "data"},
		{"unknown type", `{"type":"customer.order.stolen","data":{}}`, 400, "type"},
		{"wrong field type", `{"type":"customer.order.paid","data":{},"entity_id":7}`, 400, "entity_id"},
		{"unknown field", `{"type":"customer.order.paid","data":{},"extra":true}`, 400, "extra"},
		{"deeply nested", `{"type":"customer.order.paid","data":{"order":` + nested + `}}`, 400, ""},
		{"invalid utf-8", "{\"type\":\"customer.order.paid\",\"data\":{\"order\":{\"n\":\"\xff\xfe\"}}}", 400, ""},
		{"huge number", `{"type":"customer.order.paid","data":{"order":{"n":1e999999}}}`, 202, ""},
		{"oversized", `{"type":"customer.order.paid","data":{"order":{"pad":"` + strings.Repeat("a", MaxEventBytes) + `"}}}`, 413, ""},
		{"path in id", `{"id":"../../etc","type":"customer.order.paid","data":{}}`, 400, "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fs.events)
			status, e, body := do(t, "POST", srv.URL+"/v1/events", tt.body)
			if status != tt.status || e.Field != tt.field {
				t.Fatalf("status %d field %q (%s), want %d field %q", status, e.Field, body, tt.status, tt.field)
			}
			started := len(fs.events) - before
			if (status == 202) != (started == 1) {
				t.Errorf("status %d but %d workflows started", status, started)
			}
			if status == 202 {
				var h starter.Handle
				if err := json.Unmarshal(body, &h); err != nil || h.EventID == "" || h.WorkflowID != "event/"+h.EventID {
					t.Errorf("handle %s: %v", body, err)
				}
			} else if e.Message == "" {
				t.Error("error without a message")
			}
		})
	}
	fs.err = errors.New("temporal is down")
	if status, e, _ := do(t, "POST", srv.URL+"/v1/events", `{"type":"customer.order.paid","data":{}}`); status != 503 || !strings.Contains(e.Message, "same id") {
		t.Errorf("starter down: %d %+v", status, e)
	}
}
