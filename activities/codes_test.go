package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/internal/pgtest"
	"github.com/hookflow/hookflow/store"
)

// crashingStore fails PublishCode after the store has published the code, as a worker
// that crashes (or loses its answer to a timeout) right after the commit: the code is
// taken, and the activity is retried.
type crashingStore struct {
	store.Store
	// failEvery makes every call whose number is a multiple of it fail; 1: every call.
	failEvery int64
	calls     atomic.Int64
	failed    atomic.Int64
}

var errCrash = errors.New("worker lost after the code was taken")

func (c *crashingStore) PublishCode(ctx context.Context, key store.PublicationKey, campaign string, at time.Time) (store.Publication, error) {
	p, err := c.Store.PublishCode(ctx, key, campaign, at)
	if n := c.calls.Add(1); err == nil && c.failEvery > 0 && n%c.failEvery == 0 {
		c.failed.Add(1)
		return store.Publication{}, errCrash
	}
	return p, err
}

// codeStores are the stores the publication tests run on: SQLite, and PostgreSQL when
// HOOKFLOW_TEST_POSTGRES_DSN names a server (a database of the test's own, dropped after).
func codeStores(t *testing.T) map[string]func(t *testing.T) store.Store {
	out := map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
	// Without the DSN the postgres subtests skip (and fail in CI).
	out["postgres"] = func(t *testing.T) store.Store {
		st, err := store.OpenPostgres(context.Background(), pgtest.NewDatabase(t, "hookflow_test_codes"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return out
}

func input(event, customer string) PublishCodeInput {
	return PublishCodeInput{EventID: event, DistributionID: "distr_1", CustomerID: customer,
		Campaign: json.RawMessage(`{"id":"camp_1","name":"Spring <&> sale","type":"DISCOUNT_COUPONS"}`)}
}

// publish calls the activity as the workflow does.
func publish(ctx context.Context, a *Activities, in PublishCodeInput) (PublishedCode, error) {
	return a.PublishCode(ctx, in.EventID, in.DistributionID, in.CustomerID, in.Campaign)
}

func TestPublishCodeObjects(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	if _, err := st.ImportCodes(ctx, "camp_1", []string{"SPRING-<1>"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	out, err := publish(ctx, a, input("evt_1", "cust_1"))
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Campaign) != string(input("", "").Campaign) {
		t.Errorf("campaign %s", out.Campaign)
	}
	if want := `{"object":"voucher","code":"SPRING-<1>","campaign":"Spring <&> sale","campaign_id":"camp_1"}`; string(out.Voucher) != want {
		t.Errorf("voucher %s\nwant %s", out.Voucher, want)
	}
	var pub map[string]any
	if err := json.Unmarshal(out.Publication, &pub); err != nil {
		t.Fatal(err)
	}
	id, _ := pub["id"].(string)
	created, _ := pub["created_at"].(string)
	if !strings.HasPrefix(id, "pub_") || pub["object"] != "publication" || pub["customer_id"] != "cust_1" || pub["result"] != "SUCCESS" ||
		!reflect.DeepEqual(pub["voucher"], map[string]any{"code": "SPRING-<1>"}) || !strings.HasSuffix(created, "Z") || len(pub) != 6 {
		t.Errorf("publication %s", out.Publication)
	}
	// Asked again (a retry): the very same objects.
	again, err := publish(ctx, a, input("evt_1", "cust_1"))
	if err != nil || !reflect.DeepEqual(again, out) {
		t.Errorf("again: %+v %v\nwant %+v", again, err, out)
	}
}

// TestPublishCodeCampaignChanged: a delivery sent again after its distribution moved to
// another campaign gets its code back, named with the campaign whose pool it came from.
func TestPublishCodeCampaignChanged(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	if _, err := st.ImportCodes(ctx, "camp_1", []string{"OLD-1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := publish(ctx, a, input("evt_1", "cust_1")); err != nil {
		t.Fatal(err)
	}
	moved := input("evt_1", "cust_1")
	moved.Campaign = json.RawMessage(`{"id":"camp_2","name":"Autumn"}`)
	out, err := publish(ctx, a, moved)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Campaign) != `{"id":"camp_1"}` || string(out.Voucher) != `{"object":"voucher","code":"OLD-1","campaign_id":"camp_1"}` {
		t.Errorf("campaign %s, voucher %s", out.Campaign, out.Voucher)
	}
}

// statsDownStore finds the pool empty and cannot count it.
type statsDownStore struct{ store.Store }

func (statsDownStore) PublishCode(context.Context, store.PublicationKey, string, time.Time) (store.Publication, error) {
	return store.Publication{}, store.ErrPoolEmpty
}

func (statsDownStore) CodeStats(context.Context, string) (store.CodeStats, error) {
	return store.CodeStats{}, errors.New("connection refused")
}

func TestPublishCodeRefuses(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	appErr := func(err error) *temporal.ApplicationError {
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) {
			t.Fatalf("%v is not an ApplicationError", err)
		}
		return ae
	}
	_, err := publish(ctx, a, input("evt_1", "cust_1"))
	if ae := appErr(err); ae.Type() != ErrTypePoolEmpty || !ae.NonRetryable() ||
		ae.Message() != "the code pool of campaign camp_1 is empty: it has no codes (import some with `hookflow codes import camp_1 -f FILE`)" {
		t.Errorf("no codes: %v (%s)", ae, ae.Type())
	}
	if _, err := st.ImportCodes(ctx, "camp_1", []string{"A", "B"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"cust_1", "cust_2"} {
		if _, err := publish(ctx, a, input("evt_1", c)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = publish(ctx, a, input("evt_1", "cust_3"))
	if ae := appErr(err); ae.Type() != ErrTypePoolEmpty || !ae.NonRetryable() ||
		ae.Message() != "the code pool of campaign camp_1 is empty: all 2 codes are published (import more with `hookflow codes import camp_1 -f FILE`)" {
		t.Errorf("all published: %v", ae)
	}
	noCustomer := input("evt_1", "")
	_, err = publish(ctx, a, noCustomer)
	if ae := appErr(err); ae.Type() != ErrTypeBadPublication || !ae.NonRetryable() || !strings.Contains(ae.Message(), "customer") {
		t.Errorf("no customer: %v", ae)
	}
	// An empty pool whose counts cannot be read may have codes in flight: tried again.
	down := *a
	down.Store = statsDownStore{st}
	_, err = publish(ctx, &down, input("evt_9", "cust_9"))
	if isApp := errors.As(err, new(*temporal.ApplicationError)); err == nil || isApp || !strings.Contains(err.Error(), "trying again") {
		t.Errorf("empty pool, counts unreadable: %v", err)
	}
	// A store error is left for Temporal to retry.
	st.Close()
	_, err = publish(ctx, a, input("evt_2", "cust_1"))
	var ae *temporal.ApplicationError
	if err == nil || errors.As(err, &ae) {
		t.Errorf("closed store: %v", err)
	}
}

// TestPublishCodeRetriedAfterCrash fails the activity after the store took the code, then
// retries it as Temporal would: the same code, and no other code leaves the pool.
func TestPublishCodeRetriedAfterCrash(t *testing.T) {
	for name, open := range codeStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			if _, err := st.ImportCodes(ctx, "camp_1", []string{"A", "B", "C"}, time.Now()); err != nil {
				t.Fatal(err)
			}
			crashing := &crashingStore{Store: st, failEvery: 1}
			a := &Activities{Store: crashing}
			for range 3 {
				if _, err := publish(ctx, a, input("evt_1", "cust_1")); !errors.Is(err, errCrash) {
					t.Fatalf("injected failure: %v", err)
				}
			}
			crashing.failEvery = 0
			out, err := publish(ctx, a, input("evt_1", "cust_1"))
			if err != nil || !strings.Contains(string(out.Voucher), `"code":"A"`) {
				t.Fatalf("retry: %s %v", out.Voucher, err)
			}
			if stats, err := st.CodeStats(ctx, "camp_1"); err != nil || stats.Published != 1 {
				t.Errorf("stats %+v %v", stats, err)
			}
		})
	}
}

// TestPublishCodeConcurrentWithCrashes publishes for many events at once over a small pool
// while a third of the calls fail after the code was taken; every failed call is retried
// until it has an answer, as Temporal would. No code may be published twice, none lost:
// the pool's codes go to exactly as many events, each event keeps one code through its
// retries, and the rest are told the pool is empty.
func TestPublishCodeConcurrentWithCrashes(t *testing.T) {
	for name, open := range codeStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			const pool, events = 30, 80
			var codes []string
			for i := range pool {
				codes = append(codes, fmt.Sprintf("CODE-%02d", i))
			}
			if _, err := st.ImportCodes(ctx, "camp_1", codes, time.Now()); err != nil {
				t.Fatal(err)
			}
			crashing := &crashingStore{Store: st, failEvery: 3}
			a := &Activities{Store: crashing}
			var mu sync.Mutex
			byCode := map[string]string{}
			var empty int
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range events {
				wg.Go(func() {
					<-start
					in := input(fmt.Sprintf("evt_%d", i), fmt.Sprintf("cust_%d", i))
					var first string
					retries := 0
					// Each event asks twice more after its answer: a retried activity
					// whose first answer was lost must get the same one.
					for asks := 0; asks < 3; {
						out, err := publish(ctx, a, in)
						var ae *temporal.ApplicationError
						if err != nil && !errors.As(err, &ae) {
							// A retryable error (the injected crash, or a code in flight
							// elsewhere): Temporal tries again.
							if retries++; retries > 1000 {
								t.Errorf("event %d: still failing: %v", i, err)
								return
							}
							continue
						}
						asks++
						if ae != nil && ae.Type() == ErrTypePoolEmpty {
							if asks == 1 {
								mu.Lock()
								empty++
								mu.Unlock()
							}
							continue
						}
						if err != nil {
							t.Errorf("event %d: %v", i, err)
							return
						}
						var v struct{ Code string }
						if err := json.Unmarshal(out.Voucher, &v); err != nil {
							t.Error(err)
							return
						}
						if first == "" {
							first = v.Code
							mu.Lock()
							if prev, dup := byCode[v.Code]; dup {
								t.Errorf("code %s published to %s and event %d", v.Code, prev, i)
							}
							byCode[v.Code] = in.EventID
							mu.Unlock()
						} else if v.Code != first {
							t.Errorf("event %d got %s, then %s", i, first, v.Code)
						}
					}
				})
			}
			close(start)
			wg.Wait()
			var published []string
			for c := range byCode {
				published = append(published, c)
			}
			sort.Strings(published)
			if !reflect.DeepEqual(published, codes) || empty != events-pool {
				t.Errorf("published %v, %d told empty; want every code of the pool once and %d told empty", published, empty, events-pool)
			}
			if crashing.failed.Load() < events/4 {
				t.Errorf("only %d injected failures", crashing.failed.Load())
			}
			if stats, err := st.CodeStats(ctx, "camp_1"); err != nil || stats.Published != pool || stats.Available != 0 {
				t.Errorf("stats %+v %v", stats, err)
			}
		})
	}
}
