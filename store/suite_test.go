package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/payloads"
)

// opener opens a Store on one test database; every call is a new connection to the same
// database, which is how the suite tests reopening and concurrent starters.
type opener func() (Store, error)

// mustOpen opens a store with open and closes it at the end of the test.
func mustOpen(t *testing.T, open opener) Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runStoreSuite runs the conformance tests every backend must pass. fresh makes an empty
// database for one subtest, to be removed at the subtest's cleanup, and returns how to
// open it.
func runStoreSuite(t *testing.T, fresh func(t *testing.T) opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, open opener)
	}{
		{"distribution lifecycle", func(t *testing.T, open opener) { testLifecycle(t, mustOpen(t, open), distributionKind) }},
		{"webhook lifecycle", func(t *testing.T, open opener) { testLifecycle(t, mustOpen(t, open), webhookKind) }},
		{"distribution status", func(t *testing.T, open opener) { testStatus(t, mustOpen(t, open), distributionKind) }},
		{"webhook active", func(t *testing.T, open opener) { testStatus(t, mustOpen(t, open), webhookKind) }},
		{"distributions listed oldest first", func(t *testing.T, open opener) { testListOrder(t, mustOpen(t, open), distributionKind) }},
		{"webhooks listed oldest first", func(t *testing.T, open opener) { testListOrder(t, mustOpen(t, open), webhookKind) }},
		{"distribution concurrent updates race for one version", func(t *testing.T, open opener) { testUpdateRace(t, mustOpen(t, open), distributionKind) }},
		{"webhook concurrent updates race for one version", func(t *testing.T, open opener) { testUpdateRace(t, mustOpen(t, open), webhookKind) }},
		{"distribution concurrent updates lose nothing", func(t *testing.T, open opener) { testNoLostUpdates(t, mustOpen(t, open), distributionKind) }},
		{"webhook concurrent updates lose nothing", func(t *testing.T, open opener) { testNoLostUpdates(t, mustOpen(t, open), webhookKind) }},
		{"distribution concurrent status changes", func(t *testing.T, open opener) { testStatusRace(t, mustOpen(t, open), distributionKind) }},
		{"webhook concurrent status changes", func(t *testing.T, open opener) { testStatusRace(t, mustOpen(t, open), webhookKind) }},
		{"document kept as written", func(t *testing.T, open opener) { testDocumentRoundTrip(t, mustOpen(t, open)) }},
		{"notification idempotent by delivery", func(t *testing.T, open opener) { testNotificationIdempotent(t, mustOpen(t, open)) }},
		{"notification concurrent adds of one delivery", func(t *testing.T, open opener) { testNotificationRace(t, mustOpen(t, open)) }},
		{"notifications newest first, read and unread", func(t *testing.T, open opener) { testNotificationsRead(t, mustOpen(t, open)) }},
		{"project created once", func(t *testing.T, open opener) { testProjectOnce(t, mustOpen(t, open)) }},
		{"project created once concurrently", testProjectConcurrent},
		{"project kept across reopen", testProjectReopen},
		{"secret rotation", func(t *testing.T, open opener) { testRotateSecret(t, mustOpen(t, open)) }},
		{"notification settings and sends", func(t *testing.T, open opener) { testNotificationSettings(t, mustOpen(t, open)) }},
		{"migrations idempotent across reopen", testMigrationsReopen},
		{"concurrent starters migrate once", testConcurrentOpen},
		{"api keys", func(t *testing.T, open opener) { testAPIKeys(t, mustOpen(t, open)) }},
		{"first api key created once concurrently", testFirstAPIKeyConcurrent},
		{"last manage key kept under concurrent revokes", testRevokeManageKeysConcurrent},
		{"prune old history, keep young and in-use rows", func(t *testing.T, open opener) { testPrune(t, mustOpen(t, open)) }},
		{"concurrent prunes share the work", testPruneConcurrent},
		{"lists a page at a time", func(t *testing.T, open opener) { testPages(t, mustOpen(t, open)) }},
		{"breaker opens, holds, probes, closes", func(t *testing.T, open opener) { testBreakerLifecycle(t, mustOpen(t, open)) }},
		{"breaker: one of concurrent probers gets the lease", testBreakerConcurrentProbers},
		{"breaker settings", func(t *testing.T, open opener) { testBreakerSettings(t, mustOpen(t, open)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, fresh(t)) })
	}
}

// record is what the suite needs of a distribution or a project webhook, so one set of
// tests covers both: Version is a distribution's Version or a webhook's Revision, On is
// status live or Active, Tags are the trigger events or the webhook's events.
type record struct {
	ID        string
	Version   int
	Name      string
	On        bool
	Tags      []string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// kind adapts one document type of the Store to records.
type kind struct {
	name      string
	create    func(ctx context.Context, s Store, r record) error
	get       func(ctx context.Context, s Store, id string) (record, error)
	list      func(ctx context.Context, s Store) ([]record, error)
	update    func(ctx context.Context, s Store, r record) (record, error)
	delete    func(ctx context.Context, s Store, id string) error
	setStatus func(ctx context.Context, s Store, id string, on bool, at time.Time) (record, bool, error)
}

var distributionKind = kind{
	name: "distribution",
	create: func(ctx context.Context, s Store, r record) error {
		return s.CreateDistribution(ctx, toDistribution(r))
	},
	get: func(ctx context.Context, s Store, id string) (record, error) {
		d, err := s.GetDistribution(ctx, id)
		return fromDistribution(d), err
	},
	list: func(ctx context.Context, s Store) ([]record, error) {
		ds, err := s.ListDistributions(ctx)
		var out []record
		for _, d := range ds {
			out = append(out, fromDistribution(d))
		}
		return out, err
	},
	update: func(ctx context.Context, s Store, r record) (record, error) {
		d, err := s.UpdateDistribution(ctx, toDistribution(r))
		return fromDistribution(d), err
	},
	delete: func(ctx context.Context, s Store, id string) error { return s.DeleteDistribution(ctx, id) },
	setStatus: func(ctx context.Context, s Store, id string, on bool, at time.Time) (record, bool, error) {
		status := distributions.StatusPaused
		if on {
			status = distributions.StatusLive
		}
		d, changed, err := s.SetDistributionStatus(ctx, id, status, at)
		return fromDistribution(d), changed, err
	},
}

func toDistribution(r record) distributions.Distribution {
	status := distributions.StatusPaused
	if r.On {
		status = distributions.StatusLive
	}
	return distributions.Distribution{ID: r.ID, Name: r.Name, Status: status, Version: r.Version,
		Trigger: distributions.Trigger{Events: r.Tags}, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func fromDistribution(d distributions.Distribution) record {
	return record{ID: d.ID, Version: d.Version, Name: d.Name, On: d.Status == distributions.StatusLive,
		Tags: d.Trigger.Events, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

var webhookKind = kind{
	name: "webhook",
	create: func(ctx context.Context, s Store, r record) error {
		return s.CreateWebhook(ctx, toWebhook(r))
	},
	get: func(ctx context.Context, s Store, id string) (record, error) {
		w, err := s.GetWebhook(ctx, id)
		return fromWebhook(w), err
	},
	list: func(ctx context.Context, s Store) ([]record, error) {
		ws, err := s.ListWebhooks(ctx)
		var out []record
		for _, w := range ws {
			out = append(out, fromWebhook(w))
		}
		return out, err
	},
	update: func(ctx context.Context, s Store, r record) (record, error) {
		w, err := s.UpdateWebhook(ctx, toWebhook(r))
		return fromWebhook(w), err
	},
	delete: func(ctx context.Context, s Store, id string) error { return s.DeleteWebhook(ctx, id) },
	setStatus: func(ctx context.Context, s Store, id string, on bool, at time.Time) (record, bool, error) {
		w, changed, err := s.SetWebhookActive(ctx, id, on, at)
		return fromWebhook(w), changed, err
	},
}

func toWebhook(r record) distributions.ProjectWebhook {
	return distributions.ProjectWebhook{ID: r.ID, Description: r.Name, Active: r.On, Revision: r.Version,
		Events: r.Tags, URL: "https://example.com/hook", CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func fromWebhook(w distributions.ProjectWebhook) record {
	return record{ID: w.ID, Version: w.Revision, Name: w.Description, On: w.Active,
		Tags: w.Events, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// baseTime is a whole second, so that the suite also writes times without a fraction.
var baseTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newRecord(id string) record {
	return record{ID: id, Name: "n", On: true, Version: 1, Tags: []string{"customer.created"}, CreatedAt: baseTime}
}

func testLifecycle(t *testing.T, s Store, k kind) {
	ctx := t.Context()
	r := newRecord(k.name + "_1")
	if err := k.create(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	if err := k.create(ctx, s, r); err == nil {
		t.Errorf("a second %s with the same id was stored", k.name)
	}
	got, err := k.get(ctx, s, r.ID)
	if err != nil || got.Version != 1 || got.Name != "n" || !got.CreatedAt.Equal(baseTime) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := k.get(ctx, s, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}

	got.Name = "fresh"
	got.CreatedAt = baseTime.Add(time.Hour) // an update cannot move the creation time
	updated, err := k.update(ctx, s, got)
	if err != nil || updated.Version != 2 || updated.Name != "fresh" || !updated.CreatedAt.Equal(baseTime) {
		t.Fatalf("update: %+v %v", updated, err)
	}
	if stored, _ := k.get(ctx, s, r.ID); stored.Version != 2 || stored.Name != "fresh" || !stored.CreatedAt.Equal(baseTime) {
		t.Errorf("after update: %+v", stored)
	}

	// got still names version 1: stale now.
	got.Name = "stale"
	if _, err := k.update(ctx, s, got); !errors.Is(err, ErrConflict) {
		t.Errorf("stale update: %v", err)
	}
	noVersion := got
	noVersion.Version = 0
	if _, err := k.update(ctx, s, noVersion); !errors.Is(err, ErrConflict) {
		t.Errorf("update without a version: %v", err)
	}
	missing := newRecord("missing")
	if _, err := k.update(ctx, s, missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	if stored, _ := k.get(ctx, s, r.ID); stored.Version != 2 || stored.Name != "fresh" {
		t.Errorf("a refused update changed the record: %+v", stored)
	}

	if err := k.delete(ctx, s, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := k.delete(ctx, s, r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := k.get(ctx, s, r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("get deleted: %v", err)
	}
	if all, err := k.list(ctx, s); err != nil || len(all) != 0 {
		t.Errorf("list after delete: %+v %v", all, err)
	}
}

func testStatus(t *testing.T, s Store, k kind) {
	ctx := t.Context()
	r := newRecord(k.name + "_1")
	if err := k.create(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	at := baseTime.Add(time.Minute).In(time.FixedZone("CET", 3600))
	off, changed, err := k.setStatus(ctx, s, r.ID, false, at)
	if err != nil || !changed || off.On || off.Version != 2 || !off.UpdatedAt.Equal(at) || off.UpdatedAt.Location() != time.UTC {
		t.Fatalf("switch off: %+v %v %v", off, changed, err)
	}
	again, changed, err := k.setStatus(ctx, s, r.ID, false, at.Add(time.Minute))
	if err != nil || changed || again.Version != 2 || !again.UpdatedAt.Equal(at) {
		t.Errorf("switching off again: %+v changed=%v %v", again, changed, err)
	}
	got, err := k.get(ctx, s, r.ID)
	if err != nil || got.On || got.Version != 2 || !got.UpdatedAt.Equal(at) {
		t.Errorf("after switching off: %+v %v", got, err)
	}
	// An update read before the status change is stale.
	r.Name = "stale"
	if _, err := k.update(ctx, s, r); !errors.Is(err, ErrConflict) {
		t.Errorf("update from before the status change: %v", err)
	}
	on, changed, err := k.setStatus(ctx, s, r.ID, true, at)
	if err != nil || !changed || !on.On || on.Version != 3 {
		t.Errorf("switch on: %+v %v %v", on, changed, err)
	}
	if _, _, err := k.setStatus(ctx, s, "missing", false, at); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}

func testListOrder(t *testing.T, s Store, k kind) {
	ctx := t.Context()
	// Inserted out of order; the offsets also catch a text column whose times do not sort
	// as text (a whole second before a fraction, a long fraction before a short one).
	offsets := map[string]time.Duration{
		"c": 2 * time.Second,
		"a": 0,
		"e": time.Second + 12310*time.Microsecond,
		"b": 500 * time.Millisecond,
		"d": time.Second + 12300*time.Microsecond,
	}
	for _, id := range []string{"c", "a", "e", "b", "d"} {
		r := newRecord(id)
		r.CreatedAt = baseTime.Add(offsets[id])
		if err := k.create(ctx, s, r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := k.list(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range all {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, ""); got != "abdec" {
		t.Errorf("order %q, want abdec (oldest first)", got)
	}
}

// testUpdateRace starts n updates from the same version at once, for several rounds:
// exactly one may win each round. (The later rounds race on warm connections.)
func testUpdateRace(t *testing.T, s Store, k kind) {
	ctx := t.Context()
	r := newRecord(k.name + "_1")
	if err := k.create(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	const n, rounds = 8, 5
	for round := range rounds {
		var mu sync.Mutex
		var won []string
		race(n, func(i int) {
			u := r
			u.Name = fmt.Sprintf("round %d writer %d", round, i)
			_, err := k.update(ctx, s, u)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, u.Name)
			case !errors.Is(err, ErrConflict):
				t.Errorf("writer %d: %v", i, err)
			}
		})
		got, err := k.get(ctx, s, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(won) != 1 || got.Version != r.Version+1 || got.Name != won[0] {
			t.Fatalf("round %d: winners %q, stored %+v; want exactly one winner at version %d", round, won, got, r.Version+1)
		}
		r = got
	}
}

// race runs f(0) ... f(n-1) in goroutines released together and waits for them.
func race(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}

// testNoLostUpdates has n writers each make m changes, retrying on ErrConflict; every
// change appends a tag, so a lost write shows as a missing tag and a version short.
func testNoLostUpdates(t *testing.T, s Store, k kind) {
	ctx := t.Context()
	r := newRecord(k.name + "_1")
	r.Tags = nil
	if err := k.create(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	const n, m = 6, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	versions := map[int]int{} // version written -> times
	for i := range n {
		wg.Go(func() {
			for j := 0; j < m; {
				cur, err := k.get(ctx, s, r.ID)
				if err != nil {
					t.Error(err)
					return
				}
				cur.Tags = append(cur.Tags, fmt.Sprintf("w%d.%d", i, j))
				out, err := k.update(ctx, s, cur)
				if errors.Is(err, ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				versions[out.Version]++
				mu.Unlock()
				j++
			}
		})
	}
	wg.Wait()
	got, err := k.get(ctx, s, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 1+n*m || len(got.Tags) != n*m {
		t.Errorf("version %d with %d tags, want %d with %d", got.Version, len(got.Tags), 1+n*m, n*m)
	}
	for v := 2; v <= 1+n*m; v++ {
		if versions[v] != 1 {
			t.Errorf("version %d was written %d times", v, versions[v])
		}
	}
	seen := map[string]bool{}
	for _, tag := range got.Tags {
		if seen[tag] {
			t.Errorf("tag %s twice", tag)
		}
		seen[tag] = true
	}
}

// testStatusRace sets the same status from n goroutines at once, for several rounds that
// switch back and forth: one change and one version a round, and no ErrConflict, since
// the callers named no version.
func testStatusRace(t *testing.T, s Store, k kind) {
	ctx := t.Context()
	r := newRecord(k.name + "_1")
	if err := k.create(ctx, s, r); err != nil {
		t.Fatal(err)
	}
	const n, rounds = 8, 6
	for round := range rounds {
		on := round%2 == 1
		var mu sync.Mutex
		changes := 0
		race(n, func(int) {
			_, changed, err := k.setStatus(ctx, s, r.ID, on, baseTime)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if changed {
				changes++
			}
		})
		got, _ := k.get(ctx, s, r.ID)
		if changes != 1 || got.Version != round+2 || got.On != on {
			t.Fatalf("round %d: %d changes, stored %+v; want one change to version %d", round, changes, got, round+2)
		}
	}
}

func testDocumentRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	// Raw JSON goes into signed payloads: key order must survive the store.
	campaign := json.RawMessage(`{"z":1,"a":{"y":[1,2.50],"b":null}}`)
	d := distributions.Distribution{ID: "distr_raw", Name: "raw ünïcode", Status: distributions.StatusLive, Version: 1,
		Action:    distributions.Action{Type: distributions.ActionNotifyPromotion, Campaign: campaign},
		Webhook:   distributions.Webhook{URL: "https://example.com", Secret: "whsec_x", Timeout: distributions.Duration(3 * time.Second)},
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)}
	if err := s.CreateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetDistribution(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Action.Campaign) != string(campaign) || got.Name != d.Name || got.Webhook.Secret != "whsec_x" ||
		got.Webhook.Timeout != d.Webhook.Timeout || !got.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("round trip: %+v", got)
	}
}

func testNotificationIdempotent(t *testing.T, s Store) {
	ctx := t.Context()
	first, created, err := s.AddNotification(ctx, Notification{ID: "ntf_1", DeliveryID: "whs_1", Message: "first", Attempts: 3, CreatedAt: baseTime})
	if err != nil || !created || first.ID != "ntf_1" || first.Attempts != 3 || first.ReadAt != nil {
		t.Fatal(first, created, err)
	}
	second, created, err := s.AddNotification(ctx, Notification{ID: "ntf_2", DeliveryID: "whs_1", Message: "second", CreatedAt: baseTime.Add(time.Second)})
	if err != nil || created || second.ID != first.ID || second.Message != "first" {
		t.Errorf("second add: %+v created=%v %v", second, created, err)
	}
	all, err := s.ListNotifications(ctx, false)
	if err != nil || len(all) != 1 || all[0].ID != "ntf_1" {
		t.Errorf("list: %+v %v", all, err)
	}
	if _, err := s.MarkNotificationRead(ctx, "ntf_missing", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("read missing: %v", err)
	}
}

func testNotificationRace(t *testing.T, s Store) {
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	ids := map[string]bool{}
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stored, ok, err := s.AddNotification(ctx, Notification{ID: fmt.Sprintf("ntf_%d", i), DeliveryID: "whs_same", CreatedAt: baseTime})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[stored.ID] = true
			if ok {
				created++
			}
		})
	}
	close(start)
	wg.Wait()
	all, err := s.ListNotifications(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if created != 1 || len(ids) != 1 || len(all) != 1 {
		t.Errorf("%d created, callers saw ids %v, %d stored; want one", created, ids, len(all))
	}
}

func testNotificationsRead(t *testing.T, s Store) {
	ctx := t.Context()
	for i, id := range []string{"ntf_b", "ntf_c", "ntf_a"} {
		offset := map[string]time.Duration{"ntf_a": 0, "ntf_b": 1500 * time.Millisecond, "ntf_c": 2 * time.Second}[id]
		n := Notification{ID: id, DeliveryID: fmt.Sprintf("whs_%d", i), CreatedAt: baseTime.Add(offset)}
		if _, _, err := s.AddNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(unread bool) string {
		t.Helper()
		ns, err := s.ListNotifications(ctx, unread)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, n := range ns {
			out = append(out, strings.TrimPrefix(n.ID, "ntf_"))
		}
		return strings.Join(out, "")
	}
	if got := ids(false); got != "cba" {
		t.Errorf("all: %q, want cba (newest first)", got)
	}
	at := time.Date(2025, 3, 2, 8, 0, 0, 123456789, time.FixedZone("CET", 3600))
	read, err := s.MarkNotificationRead(ctx, "ntf_b", at)
	if err != nil || read.ReadAt == nil || !read.ReadAt.Equal(at.Truncate(time.Microsecond)) || read.ReadAt.Location() != time.UTC {
		t.Fatalf("mark read: %+v %v", read, err)
	}
	// A second read keeps the first time.
	again, err := s.MarkNotificationRead(ctx, "ntf_b", at.Add(time.Hour))
	if err != nil || again.ReadAt == nil || !again.ReadAt.Equal(*read.ReadAt) {
		t.Errorf("mark read again: %+v %v", again, err)
	}
	if got := ids(true); got != "ca" {
		t.Errorf("unread: %q, want ca", got)
	}
	if got := ids(false); got != "cba" {
		t.Errorf("all after read: %q, want cba", got)
	}
	all, _ := s.ListNotifications(ctx, false)
	if all[1].ReadAt == nil || !all[1].ReadAt.Equal(*read.ReadAt) || all[0].ReadAt != nil {
		t.Errorf("read_at in list: %v %v", all[1].ReadAt, all[0].ReadAt)
	}
	// Adding the delivery again returns the stored notification with its read time.
	stored, created, err := s.AddNotification(ctx, Notification{ID: "ntf_new", DeliveryID: "whs_0", CreatedAt: baseTime})
	if err != nil || created || stored.ID != "ntf_b" || stored.ReadAt == nil {
		t.Errorf("re-add of a read notification: %+v %v %v", stored, created, err)
	}
}

func checkProject(t *testing.T, p Project) {
	t.Helper()
	if !strings.HasPrefix(p.ID, "proj_") || !strings.HasPrefix(p.Secret, "whsec_") || len(p.Previous) != 0 {
		t.Errorf("project %+v", p)
	}
}

func testProjectOnce(t *testing.T, s Store) {
	first, err := s.Project(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checkProject(t, first)
	again, err := s.Project(t.Context())
	if err != nil || again.ID != first.ID || again.Secret != first.Secret {
		t.Errorf("project changed: %+v %+v %v", first, again, err)
	}
}

// testProjectConcurrent asks for the project from several stores (processes) at once on
// a new database: all must get the same one.
func testProjectConcurrent(t *testing.T, open opener) {
	const n = 6
	stores := make([]Store, n)
	for i := range stores {
		stores[i] = mustOpen(t, open)
	}
	var wg sync.WaitGroup
	got := make([]Project, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			p, err := stores[i].Project(t.Context())
			if err != nil {
				t.Error(err)
			}
			got[i] = p
		})
	}
	close(start)
	wg.Wait()
	checkProject(t, got[0])
	for _, p := range got[1:] {
		if p.ID != got[0].ID || p.Secret != got[0].Secret {
			t.Errorf("projects differ: %+v %+v", got[0], p)
		}
	}
}

func testProjectReopen(t *testing.T, open opener) {
	s := mustOpen(t, open)
	first, err := s.Project(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	reopened, err := mustOpen(t, open).Project(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	checkProject(t, first)
	if reopened.ID != first.ID || reopened.Secret != first.Secret {
		t.Errorf("project changed across reopen: %+v %+v", first, reopened)
	}
}

func testMigrationsReopen(t *testing.T, open opener) {
	s := mustOpen(t, open)
	if err := s.CreateDistribution(t.Context(), toDistribution(newRecord("distr_kept"))); err != nil {
		t.Fatal(err)
	}
	want := len(dialectOf(s).migrations)
	s.Close()
	for range 2 {
		s = mustOpen(t, open)
		if got := appliedMigrations(t, s); got != want {
			t.Errorf("schema_migrations lists %d migrations, want %d", got, want)
		}
		if _, err := s.GetDistribution(t.Context(), "distr_kept"); err != nil {
			t.Errorf("data lost across reopen: %v", err)
		}
		s.Close()
	}
}

// testConcurrentOpen starts several stores on one new database at once, as processes
// starting together: all must open and every migration be applied once.
func testConcurrentOpen(t *testing.T, open opener) {
	const n = 5
	var wg sync.WaitGroup
	stores := make([]Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = open() })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] == nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starter %d: %v", i, err)
		}
	}
	if got, want := appliedMigrations(t, stores[0]), len(dialectOf(stores[0]).migrations); got != want {
		t.Errorf("schema_migrations lists %d rows, want %d", got, want)
	}
}

func sqlStoreOf(s Store) *sqlStore {
	switch s := s.(type) {
	case *SQLite:
		return &s.sqlStore
	case *Postgres:
		return &s.sqlStore
	}
	panic(fmt.Sprintf("not a SQL store: %T", s))
}

func dialectOf(s Store) *dialect { return sqlStoreOf(s).d }

// appliedMigrations counts schema_migrations rows, checking they are 1..n.
func appliedMigrations(t *testing.T, s Store) int {
	t.Helper()
	var count, maxVersion int
	var db *sql.DB = sqlStoreOf(s).db
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*), COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&count, &maxVersion); err != nil {
		t.Fatal(err)
	}
	if count != maxVersion {
		t.Errorf("schema_migrations has %d rows up to version %d", count, maxVersion)
	}
	return count
}

func testRotateSecret(t *testing.T, s Store) {
	ctx := context.Background()
	first, err := s.Project(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	second := payloads.NewSecret()
	p, err := s.RotateSecret(ctx, second, now, now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p.Secret != second || p.ID != first.ID {
		t.Fatalf("after rotation: %+v", p)
	}
	if got := p.SigningSecrets(now); len(got) != 2 || got[0] != second || got[1] != first.Secret {
		t.Errorf("signing secrets during the overlap: %v", got)
	}
	if got := p.SigningSecrets(now.Add(24 * time.Hour)); len(got) != 1 || got[0] != second {
		t.Errorf("signing secrets after expiry: %v", got)
	}
	// Read back as stored; a second rotation keeps the unexpired previous and drops nothing
	// early, a third after both expired keeps only the newest old one.
	stored, _ := s.Project(ctx)
	if stored.Secret != second || len(stored.Previous) != 1 || !stored.Previous[0].ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Errorf("stored: %+v", stored)
	}
	third := payloads.NewSecret()
	p, _ = s.RotateSecret(ctx, third, now.Add(time.Hour), now.Add(2*time.Hour))
	if got := p.SigningSecrets(now.Add(time.Hour)); len(got) != 3 {
		t.Errorf("two rotations in the overlap: %v", got)
	}
	fourth := payloads.NewSecret()
	p, _ = s.RotateSecret(ctx, fourth, now.Add(48*time.Hour), now.Add(48*time.Hour)) // expire at once
	if len(p.Previous) != 0 || p.Secret != fourth {
		t.Errorf("rotation with immediate expiry after the others expired: %+v", p)
	}
}

func testNotificationSettings(t *testing.T, s Store) {
	ctx := context.Background()
	got, err := s.NotificationSettings(ctx)
	if err != nil || !reflect.DeepEqual(got, distributions.DefaultNotificationSettings()) {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	want := distributions.NotificationSettings{
		Distributions: distributions.ChannelSettings{Email: true, Recipients: []string{"ops@example.com"}, InApp: false},
		Webhooks:      distributions.ChannelSettings{Recipients: []string{}, InApp: true},
	}
	if err := s.SetNotificationSettings(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, err := s.NotificationSettings(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("read back %+v %v", got, err)
	}
	want.Webhooks.Email, want.Webhooks.Recipients = true, []string{"a@example.com"}
	if err := s.SetNotificationSettings(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.NotificationSettings(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("replaced: %+v", got)
	}
	if sent, err := s.WasSent(ctx, "email:whs_1"); sent || err != nil {
		t.Errorf("before: %v %v", sent, err)
	}
	for i := 0; i < 2; i++ {
		if err := s.MarkSent(ctx, "email:whs_1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if sent, err := s.WasSent(ctx, "email:whs_1"); !sent || err != nil {
		t.Errorf("after: %v %v", sent, err)
	}
	if sent, _ := s.WasSent(ctx, "alert:whs_1"); sent {
		t.Error("another key counts as sent")
	}
}
