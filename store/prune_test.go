package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// pruneFixture is history on both sides of a cutoff, as Prune meets it.
type pruneFixture struct {
	cutoff time.Time
	// gone are what Prune must delete, by kind; kept what it must leave.
	goneNotifications, keptNotifications []string
	goneSends, keptSends                 []string
	goneMessages, keptMessages           []string
	want                                 PruneResult
}

const customersPerMessage = 5

// addPruneFixture stores, around a cutoff 30 days ago: three old notifications (read and
// unread) and two young ones (read and unread); three old and one young send records;
// three old finished messages (two sent, one canceled), a young sent one, and an old
// scheduled one and an old sending one, which are in use; every message with customers.
func addPruneFixture(t *testing.T, s Store) pruneFixture {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	f := pruneFixture{cutoff: now.Add(-30 * 24 * time.Hour)}
	old, young := f.cutoff.Add(-time.Hour), f.cutoff.Add(time.Hour)

	notify := func(id string, at time.Time, read bool) {
		n := Notification{ID: id, Kind: "delivery_failed", DeliveryID: "whs_" + id, CreatedAt: at}
		if _, _, err := s.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		if read {
			if _, err := s.MarkNotificationRead(ctx, id, at.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, read := range []bool{true, false, true} {
		id := fmt.Sprintf("ntf_old_%d", i)
		notify(id, old.Add(-time.Duration(i)*time.Hour), read)
		f.goneNotifications = append(f.goneNotifications, id)
	}
	for i, read := range []bool{true, false} {
		id := fmt.Sprintf("ntf_young_%d", i)
		notify(id, young, read)
		f.keptNotifications = append(f.keptNotifications, id)
	}

	for i := range 3 {
		key := fmt.Sprintf("email:whs_old_%d", i)
		if err := s.MarkSent(ctx, key, old); err != nil {
			t.Fatal(err)
		}
		f.goneSends = append(f.goneSends, key)
	}
	if err := s.MarkSent(ctx, "alert:whs_young", young); err != nil {
		t.Fatal(err)
	}
	f.keptSends = append(f.keptSends, "alert:whs_young")

	// message stores a message created and last changed at at, in status.
	message := func(id string, at time.Time, status string) {
		if err := s.CreateMessage(ctx, newMessage(id, at.Add(-time.Hour)), customers(customersPerMessage)); err != nil {
			t.Fatal(err)
		}
		var err error
		switch status {
		case MessageSending, MessageSent:
			_, err = s.AdvanceMessage(ctx, id, status, customersPerMessage, at)
		case MessageCanceled:
			_, err = s.CancelMessage(ctx, id, at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, status := range []string{MessageSent, MessageCanceled, MessageSent} {
		id := fmt.Sprintf("msg_old_%s_%d", status, i)
		message(id, old, status)
		f.goneMessages = append(f.goneMessages, id)
	}
	// In use, however old: a message waiting for its send time and one sending.
	message("msg_old_scheduled", old.Add(-60*24*time.Hour), MessageScheduled)
	message("msg_old_sending", old, MessageSending)
	message("msg_young_sent", young, MessageSent)
	f.keptMessages = []string{"msg_old_scheduled", "msg_old_sending", "msg_young_sent"}

	f.want = PruneResult{Notifications: 3, NotificationSends: 3, Messages: 3, MessageCustomers: 3 * customersPerMessage}
	return f
}

// check says what of the fixture is left in s: the young and the in-use rows, whole, and
// nothing of the old ones.
func (f pruneFixture) check(t *testing.T, s Store) {
	t.Helper()
	ctx := t.Context()
	list, err := s.ListNotifications(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, n := range list {
		left[n.ID] = true
	}
	for _, id := range f.goneNotifications {
		if left[id] {
			t.Errorf("notification %s (older than the retention) is still there", id)
		}
	}
	for _, id := range f.keptNotifications {
		if !left[id] {
			t.Errorf("notification %s (younger than the retention) was pruned", id)
		}
	}
	for _, key := range append(append([]string{}, f.goneSends...), f.keptSends...) {
		sent, err := s.WasSent(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if want := contains(f.keptSends, key); sent != want {
			t.Errorf("send record %s there: %v, want %v", key, sent, want)
		}
	}
	for _, id := range f.goneMessages {
		if m, err := s.GetMessage(ctx, id); err == nil {
			t.Errorf("finished message %s (older than the retention) is still there: %+v", id, m)
		}
		if cs, err := s.MessageCustomers(ctx, id, 0, 100); err != nil || len(cs) != 0 {
			t.Errorf("pruned message %s keeps %d customers (%v)", id, len(cs), err)
		}
	}
	for _, id := range f.keptMessages {
		if _, err := s.GetMessage(ctx, id); err != nil {
			t.Errorf("message %s (in use or young) was pruned: %v", id, err)
		}
		if cs, err := s.MessageCustomers(ctx, id, 0, 100); err != nil || len(cs) != customersPerMessage {
			t.Errorf("message %s keeps %d customers (%v), want %d", id, len(cs), err, customersPerMessage)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// testPrune: old history goes and is counted, in batches smaller than it; young history and
// messages in use stay; a second prune finds nothing.
func testPrune(t *testing.T, s Store) {
	f := addPruneFixture(t, s)
	if got, err := s.Prune(t.Context(), f.cutoff.Add(-90*24*time.Hour), 2); err != nil || got.Total() != 0 {
		t.Errorf("prune before everything: %+v, %v; want nothing deleted", got, err)
	}
	// Batches of 2: every kind needs more than one statement.
	got, err := s.Prune(t.Context(), f.cutoff, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got != f.want {
		t.Errorf("prune deleted %+v, want %+v", got, f.want)
	}
	f.check(t, s)
	if again, err := s.Prune(t.Context(), f.cutoff, 2); err != nil || again.Total() != 0 {
		t.Errorf("second prune: %+v, %v; want nothing deleted", again, err)
	}
	f.check(t, s)
}

// testPruneConcurrent: processes pruning one database at once share the work: together
// they delete each old row once, and keep the rest.
func testPruneConcurrent(t *testing.T, open opener) {
	first := mustOpen(t, open)
	f := addPruneFixture(t, first)
	const n = 3
	stores := []Store{first}
	for range n - 1 {
		stores = append(stores, mustOpen(t, open))
	}
	results := make([]PruneResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { results[i], errs[i] = s.Prune(t.Context(), f.cutoff, 1) })
	}
	wg.Wait()
	var sum PruneResult
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("pruner %d: %v", i, errs[i])
		}
		sum.Notifications += r.Notifications
		sum.NotificationSends += r.NotificationSends
		sum.Messages += r.Messages
		sum.MessageCustomers += r.MessageCustomers
	}
	if sum != f.want {
		t.Errorf("the pruners deleted %+v together, want %+v", sum, f.want)
	}
	f.check(t, first)
}
