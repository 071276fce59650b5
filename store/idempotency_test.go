package store

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The idempotency key conformance tests run on both backends, like runStoreSuite.

func TestSQLiteIdempotency(t *testing.T) {
	runIdempotencySuite(t, func(t *testing.T) opener {
		path := filepath.Join(t.TempDir(), "hookflow.db")
		return func() (Store, error) { return OpenSQLite(path) }
	})
}

func TestPostgresIdempotency(t *testing.T) {
	db := newPostgresDatabase(t)
	runIdempotencySuite(t, db.freshSchema)
}

func runIdempotencySuite(t *testing.T, fresh func(t *testing.T) opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, open opener)
	}{
		{"claim, finish, answer again across a reopen", testIdempotentReopen},
		{"concurrent claims: one starts", testIdempotentRace},
		{"abandoned and stale claims are taken again", testIdempotentAbandon},
		{"pruned with the history", testIdempotentPrune},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, fresh(t)) })
	}
}

var idemAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testIdempotentReopen(t *testing.T, open opener) {
	ctx := t.Context()
	s := mustOpen(t, open)
	fp := []byte{1, 2, 3}
	if _, started, err := s.BeginIdempotent(ctx, "k1", fp, idemAt, idemAt.Add(-time.Hour)); err != nil || !started {
		t.Fatalf("first claim: started %v, %v", started, err)
	}
	rec, started, err := s.BeginIdempotent(ctx, "k1", fp, idemAt, idemAt.Add(-time.Hour))
	if err != nil || started || rec.Finished || !bytes.Equal(rec.Fingerprint, fp) {
		t.Fatalf("claim while in flight: %+v started %v, %v; want the unfinished record", rec, started, err)
	}
	if err := s.FinishIdempotent(ctx, "k1", 201, "application/json", []byte(`{"id":"x"}`), idemAt); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Another connection, as after a restart.
	s2 := mustOpen(t, open)
	rec, started, err = s2.BeginIdempotent(ctx, "k1", []byte{9}, idemAt.Add(time.Minute), idemAt.Add(time.Hour))
	if err != nil || started {
		t.Fatalf("claim after finish: started %v, %v", started, err)
	}
	if !rec.Finished || rec.Status != 201 || rec.ContentType != "application/json" || string(rec.Body) != `{"id":"x"}` ||
		!bytes.Equal(rec.Fingerprint, fp) || !rec.CreatedAt.Equal(idemAt) {
		t.Errorf("stored record: %+v", rec)
	}
}

func testIdempotentRace(t *testing.T, open opener) {
	s := mustOpen(t, open)
	const callers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	starts, errs := 0, []error{}
	for range callers {
		wg.Go(func() {
			_, started, err := s.BeginIdempotent(t.Context(), "race", []byte("fp"), idemAt, idemAt.Add(-time.Hour))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if started {
				starts++
			}
		})
	}
	wg.Wait()
	if starts != 1 || len(errs) > 0 {
		t.Errorf("%d of %d concurrent claims started (errors %v); want one", starts, callers, errs)
	}
}

func testIdempotentAbandon(t *testing.T, open opener) {
	ctx := t.Context()
	s := mustOpen(t, open)
	fp := []byte("fp")
	if _, started, err := s.BeginIdempotent(ctx, "a", fp, idemAt, idemAt); err != nil || !started {
		t.Fatalf("claim: %v %v", started, err)
	}
	if err := s.AbandonIdempotent(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, started, err := s.BeginIdempotent(ctx, "a", fp, idemAt, idemAt); err != nil || !started {
		t.Errorf("claim after abandon: started %v, %v; want started", started, err)
	}
	// A claim left in flight (its process died) is taken over once stale, by the same
	// request only.
	if _, started, _ := s.BeginIdempotent(ctx, "a", fp, idemAt.Add(time.Minute), idemAt); started {
		t.Error("a fresh claim was taken over")
	}
	if _, started, _ := s.BeginIdempotent(ctx, "a", []byte("other"), idemAt.Add(time.Hour), idemAt.Add(time.Minute)); started {
		t.Error("a stale claim was taken over by another request")
	}
	if _, started, err := s.BeginIdempotent(ctx, "a", fp, idemAt.Add(time.Hour), idemAt.Add(time.Minute)); err != nil || !started {
		t.Errorf("a stale claim of the same request: started %v, %v; want started", started, err)
	}
	// A finished key is never abandoned.
	if err := s.FinishIdempotent(ctx, "a", 202, "application/json", []byte("{}"), idemAt); err != nil {
		t.Fatal(err)
	}
	if err := s.AbandonIdempotent(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if rec, started, err := s.BeginIdempotent(ctx, "a", fp, idemAt.Add(2*time.Hour), idemAt.Add(2*time.Hour)); err != nil || started || rec.Status != 202 {
		t.Errorf("finished key after abandon: %+v started %v, %v", rec, started, err)
	}
}

func testIdempotentPrune(t *testing.T, open opener) {
	ctx := t.Context()
	s := mustOpen(t, open)
	for i, at := range []time.Time{idemAt.Add(-48 * time.Hour), idemAt.Add(-25 * time.Hour), idemAt.Add(-time.Hour)} {
		key := string(rune('a' + i))
		if _, _, err := s.BeginIdempotent(ctx, key, []byte("fp"), at, at); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishIdempotent(ctx, key, 200, "application/json", []byte("{}"), at); err != nil {
			t.Fatal(err)
		}
	}
	r, err := s.Prune(ctx, idemAt.Add(-24*time.Hour), 1)
	if err != nil || r.IdempotencyKeys != 2 {
		t.Fatalf("prune: %+v, %v; want 2 idempotency keys", r, err)
	}
	if rec, started, err := s.BeginIdempotent(ctx, "c", []byte("fp"), idemAt, idemAt); err != nil || started || !rec.Finished {
		t.Errorf("the key of an hour ago: %+v started %v, %v; want kept", rec, started, err)
	}
	if _, started, err := s.BeginIdempotent(ctx, "a", []byte("fp"), idemAt, idemAt); err != nil || !started {
		t.Errorf("the key of two days ago: started %v, %v; want pruned", started, err)
	}
}
