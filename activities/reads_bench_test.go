package activities

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
	"github.com/hookflow/hookflow/store"
)

// BenchmarkStoreReadsOfADelivery is what one event delivered at its first attempt reads
// from a SQLite store: the candidates at intake (LoadCandidates), then in the Post
// activity the project's secrets and the distribution's own.
func BenchmarkStoreReadsOfADelivery(b *testing.B) {
	st, err := store.OpenSQLite(filepath.Join(b.TempDir(), "hookflow.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	d := distributions.Distribution{ID: "distr_1", Name: "d", Status: distributions.StatusLive, Version: 1, CreatedAt: time.Now(),
		Trigger: distributions.Trigger{Events: []string{"customer.order.paid"}}, Action: distributions.Action{Type: "plain_message"}}
	if err := st.CreateDistribution(ctx, d); err != nil {
		b.Fatal(err)
	}
	a := &Activities{Store: st}
	b.ReportAllocs()
	for b.Loop() {
		snap, err := a.LoadCandidates(ctx, "customer.order.paid")
		if err != nil || len(snap.Candidates) != 1 {
			b.Fatalf("%d candidates: %v", len(snap.Candidates), err)
		}
		proj, err := a.Store.Project(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if cfg, err := a.sendSecrets(ctx, "distr_1", proj); err != nil || len(cfg.secrets) == 0 || cfg.auth != nil {
			b.Fatalf("%d secrets, auth %v: %v", len(cfg.secrets), cfg.auth, err)
		}
	}
}
