package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

const testProbeInterval = 10 * time.Second

func ask(t *testing.T, s Store, dist, delivery string, seq int64, now time.Time) distributions.BreakerAnswer {
	t.Helper()
	ans, err := s.AskBreaker(context.Background(), distributions.BreakerAsk{DistributionID: dist, DeliveryID: delivery,
		ProbeInterval: testProbeInterval, Lease: 15 * time.Second, HoldSeq: seq}, now)
	if err != nil {
		t.Fatal(err)
	}
	return ans
}

func report(t *testing.T, s Store, dist, delivery string, ok bool, now time.Time) distributions.BreakerChange {
	t.Helper()
	ch, err := s.ReportBreaker(context.Background(), distributions.BreakerReport{DistributionID: dist, DeliveryID: delivery,
		Failures: 3, OK: ok, ProbeInterval: testProbeInterval}, now)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// testBreakerLifecycle walks a breaker through open, hold, probe, a failed probe, close and
// the release of the held deliveries in hold order.
func testBreakerLifecycle(t *testing.T, s Store) {
	t0 := baseTime
	if a := ask(t, s, "dst_1", "whs_a", 0, t0); a.Decision != distributions.BreakerGo || a.Wait != 0 {
		t.Fatalf("no row: %+v, want go", a)
	}
	// Two failures, a success (the count starts again), then three failures open it once.
	report(t, s, "dst_1", "whs_1", false, t0)
	report(t, s, "dst_1", "whs_2", false, t0)
	report(t, s, "dst_1", "whs_3", true, t0)
	for i, want := range []bool{false, false, true} {
		if ch := report(t, s, "dst_1", "whs_f", false, t0.Add(time.Second)); ch.Opened != want || ch.Closed {
			t.Fatalf("failure %d: %+v, want opened %v", i+1, ch, want)
		}
	}
	b, err := s.GetBreaker(context.Background(), "dst_1")
	if err != nil || b.State != BreakerOpen || b.Opens != 1 || b.ConsecutiveFailures != 3 {
		t.Fatalf("after 3 failures: %+v, %v", b, err)
	}
	// A fourth failure (a first attempt that started before it opened) changes nothing.
	if ch := report(t, s, "dst_1", "whs_late", false, t0.Add(2*time.Second)); ch.Opened || ch.Closed {
		t.Fatalf("a failure while open: %+v", ch)
	}
	// Within the first probe interval, new deliveries are held in order.
	t1 := t0.Add(3 * time.Second)
	h1 := ask(t, s, "dst_1", "whs_h1", 0, t1)
	h2 := ask(t, s, "dst_1", "whs_h2", 0, t1)
	if h1.Decision != distributions.BreakerHold || h2.Decision != distributions.BreakerHold || h1.Wait != testProbeInterval || h2.HoldSeq != h1.HoldSeq+1 {
		t.Fatalf("held: %+v %+v", h1, h2)
	}
	// Asking again keeps its place.
	if again := ask(t, s, "dst_1", "whs_h1", h1.HoldSeq, t1.Add(time.Second)); again.Decision != distributions.BreakerHold || again.HoldSeq != h1.HoldSeq {
		t.Fatalf("held again: %+v", again)
	}
	// After the interval, one delivery takes the probe lease; the next is held.
	t2 := t0.Add(12 * time.Second)
	if p := ask(t, s, "dst_1", "whs_h2", h2.HoldSeq, t2); p.Decision != distributions.BreakerProbe {
		t.Fatalf("first ask after the interval: %+v, want probe", p)
	}
	if p := ask(t, s, "dst_1", "whs_h2", h2.HoldSeq, t2); p.Decision != distributions.BreakerProbe {
		t.Fatalf("the prober asking again: %+v, want probe", p)
	}
	if h := ask(t, s, "dst_1", "whs_h1", h1.HoldSeq, t2); h.Decision != distributions.BreakerHold {
		t.Fatalf("while probing: %+v, want hold", h)
	}
	// The probe fails: it stays open, and no probe starts for another interval.
	if ch := report(t, s, "dst_1", "whs_h2", false, t2.Add(time.Second)); ch.Opened || ch.Closed {
		t.Fatalf("failed probe: %+v", ch)
	}
	if h := ask(t, s, "dst_1", "whs_h1", h1.HoldSeq, t2.Add(5*time.Second)); h.Decision != distributions.BreakerHold {
		t.Fatalf("after a failed probe: %+v, want hold", h)
	}
	t3 := t2.Add(12 * time.Second)
	if p := ask(t, s, "dst_1", "whs_h1", h1.HoldSeq, t3); p.Decision != distributions.BreakerProbe {
		t.Fatalf("an interval after the failed probe: %+v, want probe", p)
	}
	// It succeeds: closed, once.
	if ch := report(t, s, "dst_1", "whs_h1", true, t3.Add(time.Second)); !ch.Closed || ch.Opens != 1 {
		t.Fatalf("probe succeeded: %+v, want closed", ch)
	}
	if ch := report(t, s, "dst_1", "whs_h1", true, t3.Add(time.Second)); ch.Closed || ch.Opened {
		t.Fatalf("reported again: %+v, want no change", ch)
	}
	// The held deliveries go in hold order, after one interval and its jitter; a new one
	// queues behind them until they have gone; later a new one goes at once.
	t4 := t3.Add(2 * time.Second)
	g2 := ask(t, s, "dst_1", "whs_h2", h2.HoldSeq, t4)
	g1 := ask(t, s, "dst_1", "whs_h1", h1.HoldSeq, t4)
	n := ask(t, s, "dst_1", "whs_new", 0, t4)
	if g1.Decision != distributions.BreakerGo || g2.Decision != distributions.BreakerGo || n.Decision != distributions.BreakerGo {
		t.Fatalf("after closing: %+v %+v %+v, want go", g1, g2, n)
	}
	closedAt := t3.Add(time.Second)
	if want := closedAt.Add(11 * time.Second).Sub(t4); g1.Wait != want {
		t.Fatalf("first held waits %s, want %s", g1.Wait, want)
	}
	if !(g1.Wait < g2.Wait && g2.Wait < n.Wait) || n.HoldSeq != h2.HoldSeq+1 {
		t.Fatalf("release order: %s %s %s (new place %d)", g1.Wait, g2.Wait, n.Wait, n.HoldSeq)
	}
	if late := ask(t, s, "dst_1", "whs_later", 0, t4.Add(time.Minute)); late.Decision != distributions.BreakerGo || late.Wait != 0 || late.HoldSeq != 0 {
		t.Fatalf("a minute later: %+v, want go at once", late)
	}
	// Opening again is the second opening.
	for range 3 {
		report(t, s, "dst_1", "whs_x", false, t4.Add(2*time.Minute))
	}
	if b, _ := s.GetBreaker(context.Background(), "dst_1"); b.State != BreakerOpen || b.Opens != 2 {
		t.Fatalf("reopened: %+v", b)
	}
	// Another distribution's breaker is its own.
	if a := ask(t, s, "dst_2", "whs_a", 0, t4.Add(2*time.Minute)); a.Decision != distributions.BreakerGo {
		t.Fatalf("other distribution: %+v", a)
	}
}

// testBreakerConcurrentProbers: of many deliveries asking at once on two connections, one
// takes the probe lease; of many failures reported at once, one opens the breaker.
func testBreakerConcurrentProbers(t *testing.T, open opener) {
	s1, s2 := mustOpen(t, open), mustOpen(t, open)
	t0 := baseTime
	var opened int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []Store{s1, s2}[i%2]
			ch, err := s.ReportBreaker(context.Background(), distributions.BreakerReport{DistributionID: "dst_1", DeliveryID: "whs_f",
				Failures: 3, ProbeInterval: testProbeInterval}, t0)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ch.Opened {
				opened++
			}
		}()
	}
	wg.Wait()
	if opened != 1 {
		t.Fatalf("%d reports opened the breaker, want 1", opened)
	}
	probes, held := 0, 0
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []Store{s1, s2}[i%2]
			ans, err := s.AskBreaker(context.Background(), distributions.BreakerAsk{DistributionID: "dst_1",
				DeliveryID: "whs_" + string(rune('a'+i)), ProbeInterval: testProbeInterval, Lease: time.Minute}, t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			switch ans.Decision {
			case distributions.BreakerProbe:
				probes++
			case distributions.BreakerHold:
				held++
			}
		}()
	}
	wg.Wait()
	if probes != 1 || held != 9 {
		t.Fatalf("%d probes and %d held, want 1 and 9", probes, held)
	}
	// A lease expires: a prober that crashed does not hold it for ever.
	if ans := ask(t, s1, "dst_1", "whs_z", 0, t0.Add(3*time.Minute)); ans.Decision != distributions.BreakerProbe {
		t.Fatalf("after the lease: %+v, want probe", ans)
	}
}

func testBreakerSettings(t *testing.T, s Store) {
	ctx := context.Background()
	got, err := s.BreakerSettings(ctx)
	if err != nil || got.Default != nil {
		t.Fatalf("never set: %+v, %v", got, err)
	}
	want := distributions.BreakerSettings{Default: &distributions.CircuitBreaker{Failures: 5, ProbeInterval: distributions.Duration(time.Minute)}}
	if err := s.SetBreakerSettings(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err = s.BreakerSettings(ctx)
	if err != nil || got.Default == nil || *got.Default != *want.Default {
		t.Fatalf("read back %+v, %v", got, err)
	}
}
