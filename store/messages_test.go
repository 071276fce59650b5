package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The messages conformance tests run on both backends, like runStoreSuite.

func TestSQLiteMessages(t *testing.T) {
	runMessageSuite(t, func(t *testing.T) opener {
		path := filepath.Join(t.TempDir(), "hookflow.db")
		return func() (Store, error) { return OpenSQLite(path) }
	})
}

func TestPostgresMessages(t *testing.T) {
	db := newPostgresDatabase(t)
	runMessageSuite(t, db.freshSchema)
}

func runMessageSuite(t *testing.T, fresh func(t *testing.T) opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"create, read, page customers", testMessageCreate},
		{"existing id conflicts and stores nothing", testMessageConflict},
		{"listed newest first", testMessageList},
		{"progress only goes forward", testMessageAdvance},
		{"cancel only while scheduled", testMessageCancel},
		{"concurrent cancel and start of sending: one wins", testMessageCancelRace},
		{"100,000 customers", testMessageBulk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, mustOpen(t, fresh(t))) })
	}
}

func newMessage(id string, created time.Time) Message {
	return Message{ID: id, DistributionID: "distr_1", DistributionName: "Manual", Status: MessageScheduled,
		Delay: 10 * time.Minute, SendAt: created.Add(10 * time.Minute), CreatedAt: created}
}

func customers(n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i] = json.RawMessage(fmt.Sprintf(`{"id":"cust_%d","email":"c%d@example.com","name":"<Ann & Bob>"}`, i, i))
	}
	return out
}

func testMessageCreate(t *testing.T, s Store) {
	ctx := t.Context()
	if _, err := s.GetMessage(ctx, "msg_1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing message: %v", err)
	}
	m := newMessage("msg_1", baseTime)
	if err := s.CreateMessage(ctx, m, customers(7)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMessage(ctx, "msg_1")
	if err != nil {
		t.Fatal(err)
	}
	want := m
	want.Total, want.UpdatedAt = 7, m.CreatedAt
	if got.ID != want.ID || got.DistributionID != want.DistributionID || got.DistributionName != want.DistributionName ||
		got.Status != MessageScheduled || got.Delay != want.Delay || !got.SendAt.Equal(want.SendAt) ||
		got.Total != 7 || got.Sent != 0 || !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.CreatedAt) ||
		got.CanceledAt != nil || got.FinishedAt != nil {
		t.Errorf("got %+v, want %+v", got, want)
	}
	page, err := s.MessageCustomers(ctx, "msg_1", 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 {
		t.Fatalf("page %+v", page)
	}
	for i, c := range page {
		if c.Seq != 2+i || string(c.Customer) != string(customers(7)[2+i]) {
			t.Errorf("customer %d: %d %s", i, c.Seq, c.Customer)
		}
	}
	if rest, err := s.MessageCustomers(ctx, "msg_1", 6, 10); err != nil || len(rest) != 1 || rest[0].Seq != 6 {
		t.Errorf("last page %+v %v", rest, err)
	}
	if none, err := s.MessageCustomers(ctx, "msg_1", 7, 10); err != nil || len(none) != 0 {
		t.Errorf("past the end %+v %v", none, err)
	}
}

func testMessageConflict(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreateMessage(ctx, newMessage("msg_1", baseTime), customers(2)); err != nil {
		t.Fatal(err)
	}
	other := newMessage("msg_1", baseTime.Add(time.Hour))
	other.DistributionID = "distr_2"
	if err := s.CreateMessage(ctx, other, customers(5)); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v", err)
	}
	m, _ := s.GetMessage(ctx, "msg_1")
	page, _ := s.MessageCustomers(ctx, "msg_1", 0, 100)
	if m.DistributionID != "distr_1" || m.Total != 2 || len(page) != 2 {
		t.Errorf("the first message changed: %+v, %d customers", m, len(page))
	}
}

func testMessageList(t *testing.T, s Store) {
	ctx := t.Context()
	if l, err := s.ListMessages(ctx, 0); err != nil || l == nil || len(l) != 0 {
		t.Fatalf("empty list %#v %v", l, err)
	}
	for i := range 3 {
		if err := s.CreateMessage(ctx, newMessage(fmt.Sprintf("msg_%d", i), baseTime.Add(time.Duration(i)*time.Second)), customers(1)); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.ListMessages(ctx, 0)
	if err != nil || len(l) != 3 || l[0].ID != "msg_2" || l[2].ID != "msg_0" {
		t.Fatalf("list %+v %v", l, err)
	}
	if l, err := s.ListMessages(ctx, 2); err != nil || len(l) != 2 || l[0].ID != "msg_2" {
		t.Fatalf("limited list %+v %v", l, err)
	}
}

func testMessageAdvance(t *testing.T, s Store) {
	ctx := t.Context()
	if _, err := s.AdvanceMessage(ctx, "msg_x", MessageSending, 0, baseTime); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown message: %v", err)
	}
	if err := s.CreateMessage(ctx, newMessage("msg_1", baseTime), customers(10)); err != nil {
		t.Fatal(err)
	}
	at := baseTime.Add(time.Minute)
	m, err := s.AdvanceMessage(ctx, "msg_1", MessageSending, 4, at)
	if err != nil || m.Status != MessageSending || m.Sent != 4 || !m.UpdatedAt.Equal(at) {
		t.Fatalf("advance %+v %v", m, err)
	}
	// A repeated (older) report never moves progress back.
	if m, err = s.AdvanceMessage(ctx, "msg_1", MessageSending, 2, at); err != nil || m.Sent != 4 {
		t.Fatalf("older report %+v %v", m, err)
	}
	if _, err := s.CancelMessage(ctx, "msg_1", at); !errors.Is(err, ErrConflict) {
		t.Errorf("cancel while sending: %v", err)
	}
	m, err = s.AdvanceMessage(ctx, "msg_1", MessageSent, 10, at.Add(time.Second))
	if err != nil || m.Status != MessageSent || m.Sent != 10 || m.FinishedAt == nil || !m.FinishedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("sent %+v %v", m, err)
	}
	// sent stays sent; past the total is clamped.
	if m, err = s.AdvanceMessage(ctx, "msg_1", MessageSending, 99, at.Add(time.Minute)); err != nil || m.Status != MessageSent || m.Sent != 10 {
		t.Fatalf("after sent %+v %v", m, err)
	}
	if got, _ := s.GetMessage(ctx, "msg_1"); got.Status != MessageSent || got.Sent != 10 || !got.FinishedAt.Equal(at.Add(time.Second)) {
		t.Errorf("stored %+v", got)
	}
	if _, err := s.AdvanceMessage(ctx, "msg_1", MessageCanceled, 0, at); err == nil {
		t.Error("advance to canceled accepted")
	}
}

func testMessageCancel(t *testing.T, s Store) {
	ctx := t.Context()
	if _, err := s.CancelMessage(ctx, "msg_x", baseTime); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown message: %v", err)
	}
	if err := s.CreateMessage(ctx, newMessage("msg_1", baseTime), customers(3)); err != nil {
		t.Fatal(err)
	}
	at := baseTime.Add(time.Minute)
	m, err := s.CancelMessage(ctx, "msg_1", at)
	if err != nil || m.Status != MessageCanceled || m.CanceledAt == nil || !m.CanceledAt.Equal(at) {
		t.Fatalf("cancel %+v %v", m, err)
	}
	// Again: idempotent, the first time kept.
	if m, err = s.CancelMessage(ctx, "msg_1", at.Add(time.Hour)); err != nil || !m.CanceledAt.Equal(at) {
		t.Fatalf("cancel again %+v %v", m, err)
	}
	if _, err := s.AdvanceMessage(ctx, "msg_1", MessageSending, 1, at); !errors.Is(err, ErrConflict) {
		t.Errorf("advance a canceled message: %v", err)
	}
	if got, _ := s.GetMessage(ctx, "msg_1"); got.Status != MessageCanceled || got.Sent != 0 {
		t.Errorf("stored %+v", got)
	}
}

func testMessageCancelRace(t *testing.T, s Store) {
	ctx := t.Context()
	for round := range 10 {
		id := fmt.Sprintf("msg_%d", round)
		if err := s.CreateMessage(ctx, newMessage(id, baseTime), customers(1)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var cancelErr, advanceErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, cancelErr = s.CancelMessage(ctx, id, baseTime) }()
		go func() { defer wg.Done(); _, advanceErr = s.AdvanceMessage(ctx, id, MessageSending, 0, baseTime) }()
		wg.Wait()
		if (cancelErr == nil) == (advanceErr == nil) {
			t.Fatalf("round %d: cancel %v, advance %v: exactly one must win", round, cancelErr, advanceErr)
		}
	}
}

func testMessageBulk(t *testing.T, s Store) {
	if testing.Short() {
		t.Skip("100,000 rows")
	}
	ctx := t.Context()
	const n = 100_000
	cs := customers(n)
	start := time.Now()
	if err := s.CreateMessage(ctx, newMessage("msg_bulk", baseTime), cs); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("stored %d customers in %v (%.0f/s)", n, took.Round(time.Millisecond), n/took.Seconds())
	seen := 0
	for from := 0; ; {
		page, err := s.MessageCustomers(ctx, "msg_bulk", from, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			if c.Seq != seen || string(c.Customer) != string(cs[seen]) {
				t.Fatalf("customer %d: seq %d %s", seen, c.Seq, c.Customer)
			}
			seen++
		}
		from = page[len(page)-1].Seq + 1
	}
	if seen != n {
		t.Errorf("read back %d customers", seen)
	}
}
