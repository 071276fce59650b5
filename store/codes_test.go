package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The code pool conformance tests, on both backends: SQLite always, PostgreSQL with
// HOOKFLOW_TEST_POSTGRES_DSN.

func TestSQLiteCodes(t *testing.T) {
	runCodeSuite(t, func(t *testing.T) opener {
		path := filepath.Join(t.TempDir(), "hookflow.db")
		return func() (Store, error) { return OpenSQLite(path) }
	})
}

func TestPostgresCodes(t *testing.T) {
	db := newPostgresDatabase(t)
	runCodeSuite(t, db.freshSchema)
}

func runCodeSuite(t *testing.T, fresh func(t *testing.T) opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, open opener)
	}{
		{"import dedupes and counts", testImportCodes},
		{"import is all or nothing", testImportAtomic},
		{"publish in import order, once per key", testPublishOnce},
		{"empty pool", testPoolEmpty},
		{"concurrent publications with distinct keys", testPublishConcurrentKeys},
		{"concurrent publications with one key", testPublishConcurrentSameKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, fresh(t)) })
	}
}

var codeTime = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func pubKey(i int) PublicationKey {
	return PublicationKey{EventID: fmt.Sprintf("evt_%d", i), DistributionID: "distr_1", CustomerID: fmt.Sprintf("cust_%d", i)}
}

func checkStats(t *testing.T, s Store, campaign string, total, published int) {
	t.Helper()
	st, err := s.CodeStats(t.Context(), campaign)
	want := CodeStats{Campaign: campaign, Total: total, Published: published, Available: total - published}
	if err != nil || st != want {
		t.Errorf("stats of %s: %+v %v, want %+v", campaign, st, err, want)
	}
}

func testImportCodes(t *testing.T, open opener) {
	s := mustOpen(t, open)
	ctx := t.Context()
	res, err := s.ImportCodes(ctx, "camp_1", []string{"A", "B", "C", "A"}, codeTime)
	if err != nil || res != (ImportResult{Added: 3, Duplicates: 1}) {
		t.Fatalf("first import: %+v %v", res, err)
	}
	res, err = s.ImportCodes(ctx, "camp_1", []string{"C", "D", "d"}, codeTime)
	if err != nil || res != (ImportResult{Added: 2, Duplicates: 1}) {
		t.Fatalf("second import: %+v %v", res, err)
	}
	// A code is unique within its campaign only.
	res, err = s.ImportCodes(ctx, "camp_2", []string{"A"}, codeTime)
	if err != nil || res != (ImportResult{Added: 1}) {
		t.Fatalf("other campaign: %+v %v", res, err)
	}
	if res, err := s.ImportCodes(ctx, "camp_1", nil, codeTime); err != nil || res != (ImportResult{}) {
		t.Errorf("empty import: %+v %v", res, err)
	}
	checkStats(t, s, "camp_1", 5, 0)
	checkStats(t, s, "camp_2", 1, 0)
	checkStats(t, s, "camp_unknown", 0, 0)

	// Several batches in one import, kept across a reopen.
	many := make([]string, 2*importBatch+17)
	for i := range many {
		many[i] = fmt.Sprintf("BIG-%05d", i)
	}
	if res, err := s.ImportCodes(ctx, "camp_big", many, codeTime); err != nil || res.Added != len(many) {
		t.Fatalf("big import: %+v %v", res, err)
	}
	s.Close()
	checkStats(t, mustOpen(t, open), "camp_big", len(many), 0)
}

func testImportAtomic(t *testing.T, open opener) {
	s := mustOpen(t, open)
	codes := make([]string, importBatch+5)
	for i := range codes {
		codes[i] = fmt.Sprintf("C%d", i)
	}
	codes[importBatch+2] = "" // in the second batch: the first was written already
	if _, err := s.ImportCodes(t.Context(), "camp_1", codes, codeTime); err == nil {
		t.Fatal("an import with an empty code succeeded")
	}
	checkStats(t, s, "camp_1", 0, 0)
	if _, err := s.ImportCodes(t.Context(), "", []string{"A"}, codeTime); err == nil {
		t.Error("an import without a campaign succeeded")
	}
}

func testPublishOnce(t *testing.T, open opener) {
	s := mustOpen(t, open)
	ctx := t.Context()
	if _, err := s.ImportCodes(ctx, "camp_1", []string{"FIRST", "SECOND", "THIRD"}, codeTime); err != nil {
		t.Fatal(err)
	}
	p, err := s.PublishCode(ctx, pubKey(1), "camp_1", codeTime)
	if err != nil || p.Code != "FIRST" || p.Campaign != "camp_1" || p.PublicationKey != pubKey(1) ||
		!p.CreatedAt.Equal(codeTime.Truncate(time.Microsecond)) || len(p.ID) < 5 || p.ID[:4] != "pub_" {
		t.Fatalf("publish: %+v %v", p, err)
	}
	// The same key again, even naming another campaign, and after a reopen: the same
	// publication, unchanged.
	again, err := s.PublishCode(ctx, pubKey(1), "camp_other", codeTime.Add(time.Hour))
	if err != nil || !reflect.DeepEqual(again, p) {
		t.Errorf("again: %+v %v\nwant %+v", again, err, p)
	}
	s.Close()
	s = mustOpen(t, open)
	again, err = s.PublishCode(ctx, pubKey(1), "camp_1", codeTime.Add(time.Hour))
	if err != nil || !reflect.DeepEqual(again, p) {
		t.Errorf("after reopen: %+v %v\nwant %+v", again, err, p)
	}
	// Another customer, distribution or event is another publication.
	others := []PublicationKey{
		{EventID: "evt_1", DistributionID: "distr_1", CustomerID: "cust_other"},
		{EventID: "evt_1", DistributionID: "distr_other", CustomerID: "cust_1"},
	}
	for i, k := range others {
		q, err := s.PublishCode(ctx, k, "camp_1", codeTime)
		if want := []string{"SECOND", "THIRD"}[i]; err != nil || q.Code != want || q.ID == p.ID {
			t.Errorf("key %+v: %+v %v, want code %s", k, q, err, want)
		}
	}
	checkStats(t, s, "camp_1", 3, 3)
	if _, err := s.PublishCode(ctx, PublicationKey{EventID: "evt_1", DistributionID: "distr_1"}, "camp_1", codeTime); err == nil {
		t.Error("a key without a customer was accepted")
	}
}

func testPoolEmpty(t *testing.T, open opener) {
	s := mustOpen(t, open)
	ctx := t.Context()
	if _, err := s.PublishCode(ctx, pubKey(1), "camp_none", codeTime); !errors.Is(err, ErrPoolEmpty) {
		t.Errorf("unknown campaign: %v", err)
	}
	if _, err := s.ImportCodes(ctx, "camp_1", []string{"ONLY"}, codeTime); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PublishCode(ctx, pubKey(1), "camp_1", codeTime); err != nil || p.Code != "ONLY" {
		t.Fatalf("publish: %+v %v", p, err)
	}
	_, err := s.PublishCode(ctx, pubKey(2), "camp_1", codeTime)
	if !errors.Is(err, ErrPoolEmpty) || !strings.Contains(err.Error(), "camp_1") {
		t.Errorf("empty pool: %v", err)
	}
	// The key that was refused gets a code once the pool is refilled; the one that was
	// served keeps its code.
	if _, err := s.ImportCodes(ctx, "camp_1", []string{"ONLY", "MORE"}, codeTime); err != nil {
		t.Fatal(err)
	}
	if p, err := s.PublishCode(ctx, pubKey(2), "camp_1", codeTime); err != nil || p.Code != "MORE" {
		t.Errorf("after a refill: %+v %v", p, err)
	}
	if p, err := s.PublishCode(ctx, pubKey(1), "camp_1", codeTime); err != nil || p.Code != "ONLY" {
		t.Errorf("served key after a refill: %+v %v", p, err)
	}
	checkStats(t, s, "camp_1", 2, 2)
}

// testPublishConcurrentKeys has 60 callers, over two stores (two processes), publish
// with distinct keys from a pool of 25: every code goes to exactly one caller, none is
// lost, and the other 35 are told the pool is empty.
func testPublishConcurrentKeys(t *testing.T, open opener) {
	stores := []Store{mustOpen(t, open), mustOpen(t, open)}
	ctx := t.Context()
	const pool, callers = 25, 60
	var codes []string
	for i := range pool {
		codes = append(codes, fmt.Sprintf("POOL-%02d", i))
	}
	if _, err := stores[0].ImportCodes(ctx, "camp_1", codes, codeTime); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]PublicationKey{}
	var empty int
	race(callers, func(i int) {
		p, err := stores[i%2].PublishCode(ctx, pubKey(i), "camp_1", codeTime)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, ErrPoolEmpty):
			empty++
		case err != nil:
			t.Errorf("caller %d: %v", i, err)
		default:
			if prev, dup := got[p.Code]; dup {
				t.Errorf("code %s published to %+v and %+v", p.Code, prev, p.PublicationKey)
			}
			got[p.Code] = p.PublicationKey
		}
	})
	var published []string
	for c := range got {
		published = append(published, c)
	}
	sort.Strings(published)
	if !reflect.DeepEqual(published, codes) || empty != callers-pool {
		t.Errorf("published %v (%d callers told empty)\nwant every code of %v once, %d told empty", published, empty, codes, callers-pool)
	}
	checkStats(t, stores[1], "camp_1", pool, pool)
	// Each caller asking again gets what it got the first time.
	for c, k := range got {
		if p, err := stores[1].PublishCode(ctx, k, "camp_1", codeTime); err != nil || p.Code != c {
			t.Errorf("%+v again: %+v %v, want %s", k, p, err, c)
		}
	}
}

// testPublishConcurrentSameKey has 40 callers, over two stores, publish with one key (a
// retried activity racing its first attempt): all get the same code, and only one code
// leaves the pool.
func testPublishConcurrentSameKey(t *testing.T, open opener) {
	stores := []Store{mustOpen(t, open), mustOpen(t, open)}
	ctx := t.Context()
	if _, err := stores[0].ImportCodes(ctx, "camp_1", []string{"A", "B", "C", "D", "E"}, codeTime); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		k := pubKey(round)
		var mu sync.Mutex
		ids := map[string]bool{}
		codes := map[string]bool{}
		race(40, func(i int) {
			p, err := stores[i%2].PublishCode(ctx, k, "camp_1", codeTime)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("round %d caller %d: %v", round, i, err)
				return
			}
			ids[p.ID], codes[p.Code] = true, true
		})
		if len(ids) != 1 || len(codes) != 1 {
			t.Errorf("round %d: publications %v, codes %v; want one", round, ids, codes)
		}
		checkStats(t, stores[0], "camp_1", 5, round+1)
	}
}
