package activities

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// TestNotifyBreakerOnce: the opening and the closing of one opening are each told once per
// channel, however often the activity runs, also at once from two workers; a next opening
// is told again.
func TestNotifyBreakerOnce(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	var alerts atomic.Int32
	var mu sync.Mutex
	var types []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var alert BreakerAlert
		if err := json.NewDecoder(r.Body).Decode(&alert); err != nil || r.Header.Get("webhook-signature") == "" {
			t.Errorf("alert: %v, signature %q", err, r.Header.Get("webhook-signature"))
		}
		alerts.Add(1)
		mu.Lock()
		types = append(types, alert.Type)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	n := distributions.BreakerNotice{DistributionID: "distr_1", DistributionName: "Paid", TargetURL: "http://r.test/h", Change: "opened",
		Opens: 1, Failures: 5, ProbeInterval: 30 * time.Second, LastError: "HTTP 503", WorkflowID: "event/evt_1",
		Notifications: distributions.Notifications{AlertURL: srv.URL}}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.NotifyBreaker(ctx, n); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	closed := n
	closed.Change = "closed"
	for range 2 {
		if err := a.NotifyBreaker(ctx, closed); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := st.ListNotifications(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, x := range ns {
		kinds[x.Kind]++
	}
	if len(ns) != 2 || kinds["breaker_opened"] != 1 || kinds["breaker_closed"] != 1 {
		t.Errorf("in-app notifications %v, want one opened and one closed", kinds)
	}
	// The alert is marked after it went out: of concurrent first sends more than one may
	// post (as for failure alerts), never a repeat once marked.
	if got := alerts.Load(); got < 2 || got > 4 {
		t.Errorf("%d alerts posted (%v), want the opening and the closing", got, types)
	}
	before := alerts.Load()
	_ = a.NotifyBreaker(ctx, n)
	_ = a.NotifyBreaker(ctx, closed)
	if alerts.Load() != before {
		t.Errorf("a repeat after both were marked sent posted again")
	}
	second := n
	second.Opens = 2
	if err := a.NotifyBreaker(ctx, second); err != nil {
		t.Fatal(err)
	}
	if ns, _ := st.ListNotifications(ctx, false); len(ns) != 3 || alerts.Load() != before+1 {
		t.Errorf("a second opening: %d notifications, %d alerts; want it told", len(ns), alerts.Load()-before)
	}
}

// TestLoadCandidatesResolvesTheBreaker: the breaker in effect enters the snapshot (a
// distribution's own, else the installation's default, nil when off), so the workflow
// needs no read of its own.
func TestLoadCandidatesResolvesTheBreaker(t *testing.T) {
	a, st := newActivities(t)
	ctx := context.Background()
	mk := func(id string, cb *distributions.CircuitBreaker) {
		d := distributions.Distribution{ID: id, Name: id, Status: distributions.StatusLive, Version: 1, CreatedAt: time.Now(),
			Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}}, Action: distributions.Action{Type: distributions.ActionPlainMessage},
			Webhook: distributions.Webhook{EventName: "e", URL: "http://127.0.0.1:9/h", CircuitBreaker: cb}}
		if err := st.CreateDistribution(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	mk("distr_own", &distributions.CircuitBreaker{Failures: 2, ProbeInterval: distributions.Duration(time.Minute)})
	mk("distr_off", &distributions.CircuitBreaker{})
	mk("distr_none", nil)
	effective := func() map[string]*distributions.CircuitBreaker {
		snap, err := a.LoadCandidates(ctx, "customer.order.paid")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*distributions.CircuitBreaker{}
		for _, d := range snap.Candidates {
			out[d.ID] = d.Webhook.CircuitBreaker
		}
		return out
	}
	got := effective()
	if got["distr_own"] == nil || got["distr_own"].Failures != 2 || got["distr_off"] != nil || got["distr_none"] != nil {
		t.Errorf("without a default: %+v", got)
	}
	if err := st.SetBreakerSettings(ctx, distributions.BreakerSettings{Default: &distributions.CircuitBreaker{Failures: 7}}); err != nil {
		t.Fatal(err)
	}
	got = effective()
	if got["distr_own"] == nil || got["distr_own"].Failures != 2 || got["distr_off"] != nil || got["distr_none"] == nil ||
		*got["distr_none"] != (distributions.CircuitBreaker{Failures: 7, ProbeInterval: distributions.Duration(distributions.DefaultProbeInterval)}) {
		t.Errorf("with a default of 7: own %v, off %v, none %v", got["distr_own"], got["distr_off"], got["distr_none"])
	}
}
