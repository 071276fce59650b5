package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/starter"
	"github.com/hookflow/hookflow/store"
	"github.com/hookflow/hookflow/workflows"
)

// fakeMessages is a Starter that also starts and cancels messages.
type fakeMessages struct {
	fakeStarter
	mu        sync.Mutex
	started   []workflows.MessageInput
	startErr  error
	cancels   []string
	cancelErr error
	canceled  time.Time
}

func (f *fakeMessages) StartMessage(_ context.Context, in workflows.MessageInput) (starter.Handle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return starter.Handle{}, f.startErr
	}
	f.started = append(f.started, in)
	return starter.Handle{EventID: in.MessageID, WorkflowID: workflows.MessageWorkflowID(in.MessageID)}, nil
}

func (f *fakeMessages) CancelMessage(_ context.Context, id string) (workflows.MessageProgress, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, id)
	if f.cancelErr != nil {
		return workflows.MessageProgress{}, f.cancelErr
	}
	at := f.canceled
	return workflows.MessageProgress{MessageID: id, Status: workflows.MessageCanceled, CanceledAt: &at}, nil
}

var msgNow = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

type messagesAPI struct {
	srv *httptest.Server
	fm  *fakeMessages
	st  *store.SQLite
}

func newMessagesAPI(t *testing.T) *messagesAPI {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fm := &fakeMessages{canceled: msgNow.Add(time.Minute)}
	srv := httptest.NewServer((&Server{Store: st, Starter: fm, Now: func() time.Time { return msgNow }}).Handler())
	t.Cleanup(srv.Close)
	a := &messagesAPI{srv: srv, fm: fm, st: st}
	for _, d := range []distributions.Distribution{
		manualDistribution("distr_manual", distributions.StatusLive, distributions.ActionNotifyPromotion, workflows.ManualEventType),
		manualDistribution("distr_paused", distributions.StatusPaused, distributions.ActionNotifyPromotion, workflows.ManualEventType),
		manualDistribution("distr_plain", distributions.StatusLive, distributions.ActionPlainMessage, "customer.order.paid"),
		manualDistribution("distr_orders", distributions.StatusLive, distributions.ActionNotifyPromotion, "customer.order.paid"),
	} {
		if err := st.CreateDistribution(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func manualDistribution(id, status, action, event string) distributions.Distribution {
	d := distributions.Distribution{ID: id, Name: "Manual " + id, Status: status, Version: 1,
		Trigger: distributions.Trigger{Events: []string{event}}, Action: distributions.Action{Type: action},
		Webhook:   distributions.Webhook{URL: "https://example.com/h", EventName: "Manual", Version: "v2024-01-01"},
		CreatedAt: msgNow, UpdatedAt: msgNow}
	if action == distributions.ActionNotifyPromotion {
		d.Action.Campaign = json.RawMessage(`{"id":"camp_1"}`)
		d.Action.PromotionTier = json.RawMessage(`{"id":"promo_1"}`)
	}
	return d
}

// send posts a message body with a content type and returns the status, error and body.
func (a *messagesAPI) send(t *testing.T, path, contentType, body string) (int, ErrorDetail, []byte) {
	t.Helper()
	return doWith(t, http.MethodPost, a.srv.URL+path, contentType, body)
}

func (a *messagesAPI) customersOf(t *testing.T, id string) []string {
	t.Helper()
	cs, err := a.st.MessageCustomers(t.Context(), id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Customer))
	}
	return out
}

const messagesPath = "/v1/distributions/distr_manual/messages"

func TestMessageCreateFormats(t *testing.T) {
	a := newMessagesAPI(t)
	tests := []struct {
		name, contentType, query, body string
		delay                          time.Duration
		customers                      []string
	}{
		{"one customer, default delay", "application/json", "", `{"customer": {"id": "cust_1", "email": "ann@example.com", "name": "<Ann & Co>"}}`,
			10 * time.Minute, []string{`{"id":"cust_1","email":"ann@example.com","name":"<Ann & Co>"}`}},
		{"a list with a delay", "", "", `{"customers": [{"id": "a"}, {"source_id": "src_b", "metadata": {"x": 1}}], "delay": "2s"}`,
			2 * time.Second, []string{`{"id":"a"}`, `{"source_id":"src_b","metadata":{"x":1}}`}},
		{"zero delay", "application/json; charset=utf-8", "", `{"customers": [{"id": "a"}], "delay": "0s"}`, 0, []string{`{"id":"a"}`}},
		{"JSON lines with a byte order mark", "application/x-ndjson", "", "\xef\xbb\xbf{\"id\":\"a\"}\n", 10 * time.Minute,
			[]string{`{"id":"a"}`}},
		{"JSON lines", "application/x-ndjson", "?delay=1m", "{\"id\":\"a\"}\r\n\n  {\"id\": \"b\", \"tags\": [1,2]}\n", time.Minute,
			[]string{`{"id":"a"}`, `{"id":"b","tags":[1,2]}`}},
		{"CSV with nested columns", "text/csv", "", "\xef\xbb\xbfid,email,metadata.tier,metadata.region,name\r\ncust_1,ann@example.com,gold,eu,\"Ann, \"\"A\"\"\"\ncust_2,,silver,,Bob\n",
			10 * time.Minute, []string{`{"id":"cust_1","email":"ann@example.com","metadata":{"tier":"gold","region":"eu"},"name":"Ann, \"A\""}`,
				`{"id":"cust_2","metadata":{"tier":"silver"},"name":"Bob"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e, body := a.send(t, messagesPath+tt.query, tt.contentType, tt.body)
			if status != http.StatusCreated {
				t.Fatalf("%d %+v", status, e)
			}
			var v MessageView
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(v.ID, "msg_") || v.Object != "message" || v.Status != "scheduled" || v.Total != len(tt.customers) ||
				v.Sent != 0 || !v.SendAt.Equal(msgNow.Add(tt.delay)) || v.Delay != tt.delay.String() ||
				v.DistributionID != "distr_manual" || v.DistributionName != "Manual distr_manual" || v.WorkflowID != "message/"+v.ID {
				t.Errorf("answer %s", body)
			}
			if got := a.customersOf(t, v.ID); strings.Join(got, "\n") != strings.Join(tt.customers, "\n") {
				t.Errorf("stored customers\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.customers, "\n"))
			}
			a.fm.mu.Lock()
			last := a.fm.started[len(a.fm.started)-1]
			a.fm.mu.Unlock()
			if last.MessageID != v.ID || last.Total != len(tt.customers) || !last.SendAt.Equal(v.SendAt) || last.Sending || last.NextSeq != 0 {
				t.Errorf("workflow input %+v", last)
			}
		})
	}
	// Read back: one, and the list newest first (all made at the same time: by id).
	status, _, body := do(t, "GET", a.srv.URL+"/v1/messages", "")
	var l List[MessageView]
	if err := json.Unmarshal(body, &l); status != 200 || err != nil || l.Total != len(tests) {
		t.Fatalf("list %d %s", status, body)
	}
	status, _, body = do(t, "GET", a.srv.URL+"/v1/messages/"+l.Data[0].ID, "")
	var one MessageView
	if err := json.Unmarshal(body, &one); status != 200 || err != nil || one.ID != l.Data[0].ID || one.Total != l.Data[0].Total {
		t.Fatalf("get %d %s", status, body)
	}
	if status, e, _ := do(t, "GET", a.srv.URL+"/v1/messages/msg_nope", ""); status != 404 || e.Message != `no message with id "msg_nope"` {
		t.Errorf("unknown message: %d %+v", status, e)
	}
	if status, e, _ := do(t, "GET", a.srv.URL+"/v1/messages?limit=0", ""); status != 400 || e.Field != "limit" {
		t.Errorf("bad limit: %d %+v", status, e)
	}
}

func TestMessageBadInputStoresNothing(t *testing.T) {
	a := newMessagesAPI(t)
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "{\"id\":\"c%d\"}\n", i)
		}
		return b.String()
	}
	big := `{"customer": {"id": "a", "blob": "` + strings.Repeat("x", MaxCustomerBytes) + `"}}`
	// A CSV file whose rows each repeat long column names: small as CSV, large as JSON.
	wideCSV := func(columns, nameLen, rows int) string {
		var b strings.Builder
		b.WriteString("id")
		for c := range columns {
			fmt.Fprintf(&b, ",%s%04d", strings.Repeat("n", nameLen-4), c)
		}
		for r := range rows {
			fmt.Fprintf(&b, "\nc%d%s", r, strings.Repeat(",1", columns))
		}
		return b.String()
	}
	tests := []struct {
		name, path, contentType, body string
		status                        int
		field, message                string
	}{
		{"unknown distribution", "/v1/distributions/distr_nope/messages", "", `{"customer": {"id": "a"}}`,
			404, "id", `no distribution with id "distr_nope"`},
		{"plain_message distribution", "/v1/distributions/distr_plain/messages", "", `{"customer": {"id": "a"}}`,
			422, "trigger.events", "distribution distr_plain does not take manual_distribution_schedule events: add it to its trigger.events"},
		{"not subscribed", "/v1/distributions/distr_orders/messages", "", `{"customer": {"id": "a"}}`,
			422, "trigger.events", "distribution distr_orders does not take manual_distribution_schedule events: add it to its trigger.events"},
		{"paused distribution", "/v1/distributions/distr_paused/messages", "", `{"customer": {"id": "a"}}`,
			409, "status", "distribution distr_paused is paused: resume it first (hookflow distributions resume distr_paused)"},
		{"malformed JSON", messagesPath, "", `{"customers": [{"id": "a"},]}`,
			400, "", "invalid JSON at byte 28 (line 1, column 28): invalid character ']' looking for beginning of value"},
		{"empty body", messagesPath, "", ``,
			400, "", `empty body: send {"customer": {...}} or {"customers": [...]}`},
		{"unknown field", messagesPath, "", `{"customer": {"id": "a"}, "dealy": "2s"}`,
			400, "dealy", "dealy: unknown field; did you mean delay?; known fields at this level: customer, customers, delay, id"},
		{"every unknown field, not the first", messagesPath, "", `{"customer": {"id": "a", "anything": 1}, "dealy": "2s", "idd": "m1"}`,
			400, "", "dealy: unknown field; did you mean delay?; known fields at this level: customer, customers, delay, id; " +
				"idd: unknown field; did you mean id?; known fields at this level: customer, customers, delay, id"},
		{"no customers field", messagesPath, "", `{"delay": "2s"}`,
			400, "customers", `customers: is required: {"customer": {"id": "cust_1", ...}} or {"customers": [...]}, or send a file as application/x-ndjson or text/csv`},
		{"both", messagesPath, "", `{"customer": {"id": "a"}, "customers": []}`,
			400, "customers", "customers: give customer or customers, not both"},
		{"empty list", messagesPath, "", `{"customers": []}`,
			422, "customers", "customers: no customer: a message needs at least one"},
		{"customer not an object", messagesPath, "", `{"customers": [{"id": "a"}, "b"]}`,
			422, "customers[1]", `customers[1]: a customer must be a JSON object such as {"id": "cust_1", "email": "ann@example.com"}`},
		{"missing id", messagesPath, "", `{"customers": [{"id": "a"}, {"email": "b@example.com"}]}`,
			422, "customers[1]", "customers[1]: the customer has no id or source_id: each customer needs one, and one message sends to it once"},
		{"id not a string", messagesPath, "", `{"customer": {"id": 7}}`,
			422, "customer", "customer: id must be a non-empty string"},
		{"duplicate ids", messagesPath, "", `{"customers": [{"id": "a"}, {"id": "b"}, {"id": "a", "x": 1}]}`,
			422, "customers[2]", `customers[2]: duplicate customer: id "a" is also at customers[0]; a message sends once to each customer`},
		{"bad delay", messagesPath, "", `{"customer": {"id": "a"}, "delay": "soon"}`,
			400, "delay", `delay: "soon" is not a duration from 0s to 168h, such as 2s, 10m or 1h`},
		{"negative delay", messagesPath, "", `{"customer": {"id": "a"}, "delay": "-1s"}`,
			400, "delay", `delay: "-1s" is not a duration from 0s to 168h, such as 2s, 10m or 1h`},
		{"delay too long", messagesPath, "", `{"customer": {"id": "a"}, "delay": "169h"}`,
			400, "delay", `delay: "169h" is not a duration from 0s to 168h, such as 2s, 10m or 1h`},
		{"bad id", messagesPath, "", `{"customer": {"id": "a"}, "id": "no spaces"}`,
			400, "id", "id: at most 64 letters, digits, '_', '.', ':' and '-', starting with a letter or digit"},
		{"query on JSON", messagesPath + "?delay=2s", "", `{"customer": {"id": "a"}}`,
			400, "", "give delay and id in the JSON body, not as ?delay= or ?id="},
		{"unsupported type", messagesPath, "application/xml", `<customer/>`,
			415, "", `content-type "application/xml": send application/json, application/x-ndjson (one customer per line) or text/csv`},
		{"NDJSON bad line", messagesPath, "application/x-ndjson", "{\"id\":\"a\"}\n\n{\"id\": \"b\"\n",
			400, "line 3", "line 3: invalid JSON at column 10: unexpected end of JSON input"},
		{"NDJSON duplicate", messagesPath, "application/x-ndjson", "{\"id\":\"a\"}\n{\"id\":\"b\"}\n\n{\"id\":\"a\"}\n",
			422, "line 4", `line 4: duplicate customer: id "a" is also at line 1; a message sends once to each customer`},
		{"NDJSON missing id", messagesPath, "application/x-ndjson", "{\"id\":\"a\"}\n{\"name\":\"b\"}\n",
			422, "line 2", "line 2: the customer has no id or source_id: each customer needs one, and one message sends to it once"},
		{"CSV ragged row", messagesPath, "text/csv", "id,email\na,a@example.com\nb\n",
			400, "line 3", "line 3: invalid CSV: wrong number of fields"},
		{"CSV bad quote", messagesPath, "text/csv", "id,email\na,\"a@example.com\n",
			400, "line 2", `line 2: invalid CSV: extraneous or missing " in quoted-field`},
		{"CSV no id column", messagesPath, "text/csv", "email\na@example.com\n",
			422, "line 2", "line 2: the customer has no id or source_id: each customer needs one, and one message sends to it once"},
		{"CSV empty id", messagesPath, "text/csv", "id,email\na,x\n,b@example.com\n",
			422, "line 3", "line 3: the customer has no id or source_id: each customer needs one, and one message sends to it once"},
		{"CSV duplicate", messagesPath, "text/csv", "id\na\nb\na\n",
			422, "line 4", `line 4: duplicate customer: id "a" is also at line 2; a message sends once to each customer`},
		{"CSV value and object", messagesPath, "text/csv", "id,metadata,metadata.x\na,b,c\n",
			400, "line 1", `line 1: columns "metadata" and "metadata.x": metadata cannot be both a value and an object`},
		{"CSV value and a deeper object", messagesPath, "text/csv", "id,a.b.c.d,x,a.b\nq,1,2,3\n",
			400, "line 1", `line 1: columns "a.b" and "a.b.c.d": a.b cannot be both a value and an object`},
		{"CSV too many columns", messagesPath, "text/csv", wideCSV(MaxCSVColumns, 5, 1),
			400, "line 1", "line 1: 1001 columns, over the limit of 1000"},
		{"CSV column name too long", messagesPath, "text/csv", "id," + strings.Repeat("n", MaxCSVColumnName+1) + "\na,b\n",
			400, "line 1", "line 1: column 2: the name is 257 bytes, over the limit of 256"},
		{"CSV row too large as JSON", messagesPath, "text/csv", wideCSV(999, 256, 2),
			413, "line 2", fmt.Sprintf("line 2: the customer is %d bytes as JSON, over the limit of %d", len(`{"id":"c0"}`)+999*(256+len(`,"":"1"`)), MaxCustomerBytes)},
		{"CSV customers too large as JSON", messagesPath, "text/csv", wideCSV(400, 256, 700),
			413, "customers", fmt.Sprintf("customers: the customers take more than %d bytes as JSON: split them into several messages", MaxMessageBytes)},
		{"CSV empty", messagesPath, "text/csv", "",
			400, "line 1", "line 1: empty file: want a header row such as id,email,name and a row per customer"},
		{"CSV header only", messagesPath, "text/csv", "id,email\n",
			422, "customers", "customers: no customer: a message needs at least one"},
		{"too many customers", messagesPath, "application/x-ndjson", many(MaxMessageCustomers + 1),
			413, "customers", "customers: 100001 customers or more, over the limit of 100000 per message: split them into several messages"},
		{"customer too large", messagesPath, "", big,
			413, "customer", fmt.Sprintf("customer: the customer is %d bytes, over the limit of %d", MaxCustomerBytes+len(`{"id":"a","blob":""}`), MaxCustomerBytes)},
		{"body too large", messagesPath, "application/x-ndjson", strings.Repeat(" ", MaxMessageBytes+1),
			413, "", fmt.Sprintf("the body is larger than %d bytes", MaxMessageBytes)},
		{"not UTF-8", messagesPath, "", "{\"customer\": {\"id\": \"\xff\"}}",
			400, "", "the body is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e, body := a.send(t, tt.path, tt.contentType, tt.body)
			if status != tt.status || e.Message != tt.message || e.Field != tt.field {
				t.Errorf("got %d field %q %q\nwant %d field %q %q\n%.300s", status, e.Field, e.Message, tt.status, tt.field, tt.message, body)
			}
			if status == 409 && e.Type != "conflict" {
				t.Errorf("409 of type %q, want conflict as every 409", e.Type)
			}
		})
	}
	if ms, err := a.st.ListMessages(t.Context(), 0); err != nil || len(ms) != 0 {
		t.Errorf("stored %d messages: %v", len(ms), err)
	}
	if len(a.fm.started) != 0 {
		t.Errorf("started %+v", a.fm.started)
	}
}

func TestMessageAtTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 customers")
	}
	a := newMessagesAPI(t)
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range MaxMessageCustomers {
		fmt.Fprintf(&b, "cust_%d,c%d@example.com\n", i, i)
	}
	start := time.Now()
	status, e, body := a.send(t, messagesPath+"?delay=1h", "text/csv", b.String())
	if status != 201 {
		t.Fatalf("%d %+v", status, e)
	}
	t.Logf("100,000 customers (%d bytes of CSV) accepted in %v", b.Len(), time.Since(start).Round(time.Millisecond))
	var v MessageView
	_ = json.Unmarshal(body, &v)
	if v.Total != MaxMessageCustomers {
		t.Errorf("total %d", v.Total)
	}
}

func TestMessageIdempotentID(t *testing.T) {
	a := newMessagesAPI(t)
	body := `{"id": "promo-2026-01", "customers": [{"id": "a"}, {"id": "b"}]}`
	status, e, first := a.send(t, messagesPath, "", body)
	if status != 201 {
		t.Fatalf("%d %+v", status, e)
	}
	status, e, again := a.send(t, messagesPath, "", body)
	if status != 200 || string(again) != string(first) {
		t.Errorf("again: %d %+v %s", status, e, again)
	}
	if len(a.fm.started) != 2 || a.fm.started[1].MessageID != "promo-2026-01" {
		t.Errorf("starts %+v", a.fm.started)
	}
	status, e, _ = a.send(t, messagesPath, "", `{"id": "promo-2026-01", "customers": [{"id": "a"}]}`)
	if status != 409 || e.Type != "conflict" || e.Message != "message promo-2026-01 exists already, for distribution distr_manual with 2 customers; send yours under another id, or leave id out to have one made" {
		t.Errorf("other message, same id: %d %+v", status, e)
	}
}

// lateStore is a store that another request writes to between a read and a write: its
// first GetMessage finds nothing, though the message is stored.
type lateStore struct {
	store.Store
	missed bool
}

func (l *lateStore) GetMessage(ctx context.Context, id string) (store.Message, error) {
	if !l.missed {
		l.missed = true
		return store.Message{}, store.ErrNotFound
	}
	return l.Store.GetMessage(ctx, id)
}

// TestMessageConcurrentSameID: a client retrying before its first POST was answered (its
// GetMessage finds nothing, its insert finds the id taken) gets the same message, not a
// conflict, and the message is stored once.
func TestMessageConcurrentSameID(t *testing.T) {
	a := newMessagesAPI(t)
	body := `{"id": "promo-race", "customers": [{"id": "a"}, {"id": "b"}]}`
	status, e, first := a.send(t, messagesPath, "", body)
	if status != 201 {
		t.Fatalf("%d %+v", status, e)
	}
	late := httptest.NewServer((&Server{Store: &lateStore{Store: a.st}, Starter: a.fm, Now: func() time.Time { return msgNow }}).Handler())
	defer late.Close()
	status, e, again := doWith(t, http.MethodPost, late.URL+messagesPath, "application/json", body)
	if status != 200 || string(again) != string(first) {
		t.Errorf("the retry that lost the race: %d %+v %s", status, e, again)
	}
	if got := a.customersOf(t, "promo-race"); len(got) != 2 {
		t.Errorf("customers %v", got)
	}
}

// hangUpStarter is a client hanging up just as its message is started: it cancels the
// request's context, then starts only with a context that is still live.
type hangUpStarter struct {
	fakeMessages
	hangUp context.CancelFunc
}

func (h *hangUpStarter) StartMessage(ctx context.Context, in workflows.MessageInput) (starter.Handle, error) {
	h.hangUp()
	if err := ctx.Err(); err != nil {
		return starter.Handle{}, err
	}
	return h.fakeMessages.StartMessage(ctx, in)
}

// TestMessageClientHangsUp: a client that goes away once its body is sent does not cut
// the start of its message short (it would be canceled for good).
func TestMessageClientHangsUp(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateDistribution(t.Context(), manualDistribution("distr_manual", distributions.StatusLive, distributions.ActionNotifyPromotion, workflows.ManualEventType)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	hs := &hangUpStarter{hangUp: cancel}
	h := (&Server{Store: st, Starter: hs, Now: func() time.Time { return msgNow }}).Handler()
	req := httptest.NewRequestWithContext(ctx, "POST", messagesPath, strings.NewReader(`{"id": "m1", "customer": {"id": "a"}}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if m, err := st.GetMessage(t.Context(), "m1"); err != nil || m.Status != store.MessageScheduled {
		t.Errorf("stored %+v %v, want it scheduled", m, err)
	}
	if len(hs.started) != 1 {
		t.Errorf("started %+v", hs.started)
	}
}

func TestMessageStartFailureCancelsIt(t *testing.T) {
	a := newMessagesAPI(t)
	a.fm.startErr = errors.New("temporal is down")
	status, e, _ := a.send(t, messagesPath, "", `{"id": "m1", "customer": {"id": "a"}}`)
	if status != 503 || e.Message != "message m1 could not be scheduled now and will not be sent; send it again under a new id" {
		t.Fatalf("%d %+v", status, e)
	}
	if m, err := a.st.GetMessage(t.Context(), "m1"); err != nil || m.Status != store.MessageCanceled {
		t.Errorf("stored %+v %v", m, err)
	}
}

func TestMessageCancel(t *testing.T) {
	a := newMessagesAPI(t)
	create := func(id string) {
		t.Helper()
		if status, e, _ := a.send(t, messagesPath, "", `{"id": "`+id+`", "customer": {"id": "a"}}`); status != 201 {
			t.Fatalf("%d %+v", status, e)
		}
	}
	create("m1")
	status, e, body := do(t, "DELETE", a.srv.URL+"/v1/messages/m1", "")
	var v MessageView
	_ = json.Unmarshal(body, &v)
	if status != 200 || v.Status != "canceled" || v.CanceledAt == nil || !v.CanceledAt.Equal(msgNow.Add(time.Minute)) {
		t.Fatalf("cancel: %d %+v %s", status, e, body)
	}
	// Again: the same answer, without asking the workflow.
	if status, _, again := do(t, "DELETE", a.srv.URL+"/v1/messages/m1", ""); status != 200 || string(again) != string(body) || len(a.fm.cancels) != 1 {
		t.Errorf("cancel again: %d %s, %d cancels", status, again, len(a.fm.cancels))
	}

	// The workflow began sending: refused, exactly so.
	create("m2")
	a.fm.cancelErr = fmt.Errorf("%w: message m2 is already sending", starter.ErrNotCancelable)
	status, e, _ = do(t, "DELETE", a.srv.URL+"/v1/messages/m2", "")
	if status != 409 || e.Type != "conflict" || e.Message != "message m2 is already sending: a message can be canceled only during its delay; to skip what is left, pause its distribution (hookflow distributions pause distr_manual)" {
		t.Errorf("cancel while sending: %d %+v", status, e)
	}
	if m, _ := a.st.GetMessage(t.Context(), "m2"); m.Status != store.MessageScheduled {
		t.Errorf("stored %+v", m)
	}
	// The store says sending: refused without asking.
	if _, err := a.st.AdvanceMessage(t.Context(), "m2", store.MessageSending, 0, msgNow); err != nil {
		t.Fatal(err)
	}
	n := len(a.fm.cancels)
	status, e, _ = do(t, "DELETE", a.srv.URL+"/v1/messages/m2", "")
	if status != 409 || e.Type != "conflict" || e.Message != "message m2 is already sending: a message can be canceled only during its delay; to skip what is left, pause its distribution (hookflow distributions pause distr_manual)" || len(a.fm.cancels) != n {
		t.Errorf("cancel a sending message: %d %+v", status, e)
	}

	// No workflow runs it (its start failed half-way): canceled in the store.
	create("m3")
	a.fm.cancelErr = fmt.Errorf("%w: workflow not found", starter.ErrMessageClosed)
	if status, e, body := do(t, "DELETE", a.srv.URL+"/v1/messages/m3", ""); status != 200 || !strings.Contains(string(body), `"status":"canceled"`) {
		t.Errorf("cancel without workflow: %d %+v %s", status, e, body)
	}
	// Temporal unreachable: 503, nothing changed.
	create("m4")
	a.fm.cancelErr = errors.New("deadline exceeded")
	if status, e, _ := do(t, "DELETE", a.srv.URL+"/v1/messages/m4", ""); status != 503 || e.Message != "message m4 could not be canceled now (no worker answered); try again" {
		t.Errorf("cancel, Temporal down: %d %+v", status, e)
	}
	if status, e, _ := do(t, "DELETE", a.srv.URL+"/v1/messages/m9", ""); status != 404 || e.Message != `no message with id "m9"` {
		t.Errorf("cancel unknown: %d %+v", status, e)
	}
}

// A server whose Starter cannot start messages answers 501.
func TestMessageWithoutMessageStarter(t *testing.T) {
	srv, _, _ := newAPI(t)
	if status, e, _ := do(t, "POST", srv.URL+"/v1/distributions/distr_1/messages", `{"customer": {"id": "a"}}`); status != 501 || e.Message != "this server cannot start messages" {
		t.Errorf("%d %+v", status, e)
	}
}
