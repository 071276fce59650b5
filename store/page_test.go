package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// pageTimes are the creation times of the rows the paging test lists: out of order, some
// equal (the id decides between them), and some with nanoseconds, which PostgreSQL rounds
// to microseconds, so that a cursor taken from the document rather than the column would
// repeat or skip a row.
var pageTimes = []time.Duration{
	3 * time.Second, 0, time.Second, time.Second, time.Second + 1500, 2*time.Second + 999, time.Second, 0, 5 * time.Second,
}

// readPages reads every page of a list, limit items a page, and returns the ids in order.
func readPages[T any](t *testing.T, limit int, page func(Page) (Paged[T], error), id func(T) string) []string {
	t.Helper()
	var ids []string
	p := Page{Limit: limit}
	for range 100 {
		got, err := page(p)
		if err != nil {
			t.Fatalf("page after %q: %v", p.After, err)
		}
		if len(got.Items) > limit || (got.Next != "" && len(got.Items) != limit) {
			t.Fatalf("a page of %d items with next %q; limit %d", len(got.Items), got.Next, limit)
		}
		for _, v := range got.Items {
			ids = append(ids, id(v))
		}
		if got.Next == "" {
			return ids
		}
		p.After = got.Next
	}
	t.Fatal("no last page after 100")
	return nil
}

// testPages: every list read a page at a time, at any page size, gives the whole list in
// its order, each item once; a filtered list pages over the items it keeps; a cursor that
// no page gave is ErrBadCursor.
func testPages(t *testing.T, s Store) {
	ctx := t.Context()
	for i, d := range pageTimes {
		at := baseTime.Add(d)
		id := fmt.Sprintf("%02d", i)
		r := newRecord("distr_" + id)
		r.CreatedAt = at
		if i%3 == 0 {
			r.Tags = []string{"customer.order.paid"}
		}
		if err := distributionKind.create(ctx, s, r); err != nil {
			t.Fatal(err)
		}
		r.ID = "wh_" + id
		if err := webhookKind.create(ctx, s, r); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AddNotification(ctx, Notification{ID: "ntf_" + id, DeliveryID: "whs_" + id, Message: "m", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := s.MarkNotificationRead(ctx, "ntf_"+id, at); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.CreateAPIKey(ctx, "k"+id, []string{ScopeManage}, at); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateMessage(ctx, newMessage("msg_"+id, at), customers(1)); err != nil {
			t.Fatal(err)
		}
	}
	paid := func(d distributions.Distribution) bool {
		return slices.Contains(d.Trigger.Events, "customer.order.paid")
	}
	lists := []struct {
		name string
		all  func() ([]string, error)
		read func(t *testing.T, limit int) []string
	}{
		{"distributions",
			func() ([]string, error) { return ids(s.ListDistributions(ctx)) },
			func(t *testing.T, limit int) []string {
				return readPages(t, limit, func(p Page) (Paged[distributions.Distribution], error) { return s.PageDistributions(ctx, p, nil) }, distributionID)
			}},
		{"distributions kept",
			func() ([]string, error) {
				all, err := s.ListDistributions(ctx)
				return ids(slices.DeleteFunc(all, func(d distributions.Distribution) bool { return !paid(d) }), err)
			},
			func(t *testing.T, limit int) []string {
				return readPages(t, limit, func(p Page) (Paged[distributions.Distribution], error) { return s.PageDistributions(ctx, p, paid) }, distributionID)
			}},
		{"webhooks",
			func() ([]string, error) { return ids(s.ListWebhooks(ctx)) },
			func(t *testing.T, limit int) []string {
				return readPages(t, limit, func(p Page) (Paged[distributions.ProjectWebhook], error) { return s.PageWebhooks(ctx, p) }, func(w distributions.ProjectWebhook) string { return w.ID })
			}},
		{"notifications",
			func() ([]string, error) { return ids(s.ListNotifications(ctx, false)) },
			func(t *testing.T, limit int) []string {
				return readPages(t, limit, func(p Page) (Paged[Notification], error) { return s.PageNotifications(ctx, false, p) }, func(n Notification) string { return n.ID })
			}},
		{"unread notifications",
			func() ([]string, error) { return ids(s.ListNotifications(ctx, true)) },
			func(t *testing.T, limit int) []string {
				return readPages(t, limit, func(p Page) (Paged[Notification], error) { return s.PageNotifications(ctx, true, p) }, func(n Notification) string { return n.ID })
			}},
		{"api keys",
			func() ([]string, error) { return ids(s.ListAPIKeys(ctx)) },
			func(t *testing.T, limit int) []string {
				return readPages(t, limit, func(p Page) (Paged[APIKey], error) { return s.PageAPIKeys(ctx, p) }, func(k APIKey) string { return k.ID })
			}},
		{"messages",
			func() ([]string, error) { return ids(s.ListMessages(ctx, 0)) },
			func(t *testing.T, limit int) []string {
				return readPages(t, limit, func(p Page) (Paged[Message], error) { return s.PageMessages(ctx, p) }, func(m Message) string { return m.ID })
			}},
	}
	for _, l := range lists {
		want, err := l.all()
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 3 {
			t.Fatalf("%s: %d items; the test wants several", l.name, len(want))
		}
		for _, limit := range []int{1, 2, 3, len(want), len(want) + 1} {
			if got := l.read(t, limit); !slices.Equal(got, want) {
				t.Errorf("%s, %d a page: %v; want %v", l.name, limit, got, want)
			}
		}
	}

	for _, bad := range []string{"x", "!!", "YWJj", "bm90IGEgdGltZQppZA", "MjAyNS0wMy0wMVQxMjowMDowMFoK"} {
		if _, err := s.PageDistributions(ctx, Page{Limit: 2, After: bad}, nil); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v; want ErrBadCursor", bad, err)
		}
	}
}

func distributionID(d distributions.Distribution) string { return d.ID }

// ids is the ids of a list, with its error.
func ids[T any](items []T, err error) ([]string, error) {
	out := []string{}
	for _, v := range items {
		switch v := any(v).(type) {
		case distributions.Distribution:
			out = append(out, v.ID)
		case distributions.ProjectWebhook:
			out = append(out, v.ID)
		case Notification:
			out = append(out, v.ID)
		case APIKey:
			out = append(out, v.ID)
		case Message:
			out = append(out, v.ID)
		}
	}
	return out, err
}
