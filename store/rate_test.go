package store

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

// The rate limit conformance tests run on both backends, like runStoreSuite.

func TestSQLiteRateLimits(t *testing.T) {
	runRateSuite(t, func(t *testing.T) opener {
		path := filepath.Join(t.TempDir(), "hookflow.db")
		return func() (Store, error) { return OpenSQLite(path) }
	})
}

func TestPostgresRateLimits(t *testing.T) {
	db := newPostgresDatabase(t)
	runRateSuite(t, db.freshSchema)
}

func runRateSuite(t *testing.T, fresh func(t *testing.T) opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, open opener)
	}{
		{"a token, then a turn to wait for", testRateTakeAndWait},
		{"concurrent takers never exceed the limit", testRateConcurrent},
		{"buckets unused since the cutoff are pruned", testRatePrune},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, fresh(t)) })
	}
}

// testRateTakeAndWait: a new bucket gives one token; the next taker is told to wait about
// an interval, the one after it about two (it queues behind); one that waited its turn takes
// the token, and buckets of other keys are not touched.
func testRateTakeAndWait(t *testing.T, open opener) {
	ctx := t.Context()
	s := mustOpen(t, open)
	rate := distributions.Rate{Count: 1, Per: time.Second}
	take := func(key string, waited bool) time.Duration {
		t.Helper()
		wait, err := s.TakeRateToken(ctx, key, rate, waited)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	if w := take("distr_a", false); w != 0 {
		t.Fatalf("first take waits %s, want a token", w)
	}
	first := take("distr_a", false)
	if first <= 800*time.Millisecond || first > time.Second {
		t.Fatalf("second take waits %s, want about 1s", first)
	}
	second := take("distr_a", false)
	if second <= first+800*time.Millisecond || second > 2*time.Second {
		t.Fatalf("third take waits %s, want about 2s (behind the second)", second)
	}
	if w := take("distr_b", false); w != 0 {
		t.Fatalf("another key's first take waits %s", w)
	}
	time.Sleep(first)
	if w := take("distr_a", true); w != 0 {
		t.Fatalf("a take after its turn waits %s", w)
	}
	// At once after it, less than half a token is there.
	// Its token is gone: the next one that waited queues again, behind the third take's
	// turn.
	if w := take("distr_a", true); w <= second-first || w > 2*time.Second {
		t.Fatalf("a second take at the same turn waits %s, want a turn after %s", w, second-first)
	}
	if w, err := s.TakeRateToken(ctx, "distr_c", distributions.Rate{}, false); err != nil || w != 0 {
		t.Fatalf("no limit: %s, %v", w, err)
	}
}

// testRateConcurrent: takers on their own connections, as workers are, share one bucket:
// over the run they take at most 1.5 + N·T tokens of an N/s limit in T seconds, they do take
// tokens (the limit is reached, not starved), and waiting costs few calls (turns, not
// everyone asking at once).
func testRateConcurrent(t *testing.T, open opener) {
	const takers = 6
	rate := distributions.Rate{Count: 40, Per: time.Second}
	run := 1500 * time.Millisecond
	stores := make([]Store, takers)
	for i := range stores {
		stores[i] = mustOpen(t, open)
	}
	var mu sync.Mutex
	taken, calls := 0, 0
	start := time.Now()
	var wg sync.WaitGroup
	for i := range takers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waited := false
			for time.Since(start) < run {
				wait, err := stores[i].TakeRateToken(t.Context(), "distr_shared", rate, waited)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				calls++
				if wait == 0 {
					taken++
				}
				mu.Unlock()
				waited = wait > 0
				time.Sleep(wait)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	limit := int(1.5 + elapsed.Seconds()*float64(rate.Count))
	t.Logf("%d tokens in %s (limit %d), %d calls", taken, elapsed.Round(time.Millisecond), limit, calls)
	if taken > limit {
		t.Errorf("%d tokens taken in %s, over the limit of %d", taken, elapsed, limit)
	}
	if min := int(run.Seconds() * float64(rate.Count) / 2); taken < min {
		t.Errorf("%d tokens taken in %s, fewer than %d: the takers starve", taken, elapsed, min)
	}
	if calls > 4*taken+takers {
		t.Errorf("%d calls for %d tokens: waiting takers ask too often", calls, taken)
	}
}

// testRatePrune: Prune deletes the buckets last used before its cutoff, with no turn after
// it, and keeps the others; a pruned bucket's next take goes, as a new bucket's does.
func testRatePrune(t *testing.T, open opener) {
	ctx := t.Context()
	s := mustOpen(t, open)
	rate := distributions.Rate{Count: 1, Per: time.Hour}
	for _, key := range []string{"distr_old", "distr_queued"} {
		if w, err := s.TakeRateToken(ctx, key, rate, false); err != nil || w != 0 {
			t.Fatalf("%s: %s, %v", key, w, err)
		}
	}
	// distr_queued has a turn an hour from now.
	if w, err := s.TakeRateToken(ctx, "distr_queued", rate, false); err != nil || w < 59*time.Minute {
		t.Fatalf("distr_queued's second take: %s, %v", w, err)
	}
	cutoff := time.Now().Add(time.Minute)
	time.Sleep(10 * time.Millisecond)
	r, err := s.Prune(ctx, cutoff, 0)
	if err != nil || r.RateBuckets != 1 || r.Total() != 1 {
		t.Fatalf("prune: %+v, %v; want one rate bucket", r, err)
	}
	if w, err := s.TakeRateToken(ctx, "distr_old", rate, false); err != nil || w != 0 {
		t.Errorf("a pruned bucket's take: %s, %v; want a token", w, err)
	}
	if w, err := s.TakeRateToken(ctx, "distr_queued", rate, false); err != nil || w < 119*time.Minute {
		t.Errorf("the kept bucket's take: %s, %v; want a turn behind the one given", w, err)
	}
}

// TestRateBucketTake checks the bucket's arithmetic at given times (microseconds).
func TestRateBucketTake(t *testing.T) {
	const iv = 100_000 // 10/s
	type step struct {
		now    int64
		waited bool
		wait   int64
	}
	tests := []struct {
		name  string
		start rateBucket
		steps []step
	}{
		{"full bucket, then turns one interval apart", rateBucket{iv, iv, 0, 0}, []step{
			{1_000_000, false, 0},
			{1_000_000, false, iv},
			{1_000_000, false, 2 * iv},
			{1_010_000, false, 2*iv - 10_000 + iv},
			// The first waiter wakes at its turn: the token is there.
			{1_100_000, true, 0},
			// The second wakes late, at the third's turn, and goes; the third, on time,
			// finds less than half a token and queues again at the end (turns at 1.2 and
			// 1.3 s were given: the next is 1.4 s).
			{1_300_000, true, 0},
			{1_300_000, true, 1_400_000 - 1_300_000},
			// At 1.36 s it would find 0.6 of a token: enough, borrowing the rest.
			{1_360_000, true, 0},
			{1_360_000, true, 1_500_000 - 1_360_000},
		}},
		{"a newcomer queues behind waiters even with a token there", rateBucket{iv, iv, 1_000_000, 1_500_000}, []step{
			{1_200_000, false, 300_000},
			{1_200_000, true, 0},
		}},
		{"the queue drained: a newcomer takes the token", rateBucket{iv, 0, 1_000_000, 1_100_000}, []step{
			{1_100_000, false, 0},
			{1_150_000, false, iv / 2},
			// Waited: half a token is enough.
			{1_150_000, true, 0},
		}},
		{"a changed limit forgets the old turns", rateBucket{3_600_000_000, 0, 1_000_000, 9_000_000_000}, []step{
			{1_000_000, false, iv},
		}},
		{"a clock that went back takes nothing from the credit", rateBucket{iv, iv, 2_000_000, 0}, []step{
			{1_000_000, false, 0},
			{1_000_000, false, iv},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.start
			for i, s := range tt.steps {
				if got := b.take(s.now, iv, s.waited); got != s.wait {
					t.Fatalf("step %d (now %d, waited %v): wait %d, want %d; bucket %+v", i, s.now, s.waited, got, s.wait, b)
				}
				if b.credit < -iv/2 || b.credit > iv {
					t.Fatalf("step %d: credit %d out of [-%d, %d]", i, b.credit, iv/2, iv)
				}
			}
		})
	}
	if got := rateInterval(distributions.Rate{Count: 3, Per: time.Second}); got != 333_334 {
		t.Errorf("interval of 3/s = %dµs, want 333334 (rounded up: never over the limit)", got)
	}
}
