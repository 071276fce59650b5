package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookflow/hookflow/distributions"
)

func TestProjectIsKeptAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookflow.db")
	ctx := context.Background()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Project(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Project(ctx)
	s.Close()
	s, err = OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reopened, err := s.Project(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.ID, "proj_") || !strings.HasPrefix(first.Secrets[0], "whsec_") ||
		again.ID != first.ID || reopened.ID != first.ID || reopened.Secrets[0] != first.Secrets[0] {
		t.Errorf("project changed: %+v %+v %+v", first, again, reopened)
	}
}

func TestDistributionLifecycle(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	d := distributions.Distribution{ID: "distr_1", Name: "n", Status: distributions.StatusLive, CreatedAt: time.Now()}
	if err := s.CreateDistribution(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateDistribution(ctx, d); err == nil {
		t.Error("a second distribution with the same id was stored")
	}
	changed, err := s.SetDistributionStatus(ctx, "distr_1", distributions.StatusPaused, time.Now())
	if err != nil || !changed {
		t.Fatalf("pause: %v %v", changed, err)
	}
	if changed, _ := s.SetDistributionStatus(ctx, "distr_1", distributions.StatusPaused, time.Now()); changed {
		t.Error("pausing a paused distribution reported a change")
	}
	got, err := s.GetDistribution(ctx, "distr_1")
	if err != nil || got.Status != distributions.StatusPaused || got.UpdatedAt.IsZero() {
		t.Errorf("after pause: %+v %v", got, err)
	}
	if _, err := s.SetDistributionStatus(ctx, "distr_x", distributions.StatusPaused, time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if err := s.DeleteDistribution(ctx, "distr_1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDistribution(ctx, "distr_1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestNotificationIdempotentByDelivery(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	first, created, err := s.AddNotification(ctx, Notification{ID: "ntf_1", DeliveryID: "whs_1", Message: "first", CreatedAt: time.Now()})
	if err != nil || !created {
		t.Fatal(created, err)
	}
	second, created, err := s.AddNotification(ctx, Notification{ID: "ntf_2", DeliveryID: "whs_1", Message: "second", CreatedAt: time.Now()})
	if err != nil || created || second.ID != first.ID || second.Message != "first" {
		t.Errorf("second add: %+v created=%v %v", second, created, err)
	}
	all, _ := s.ListNotifications(ctx, false)
	if len(all) != 1 {
		t.Errorf("%d notifications", len(all))
	}
	if _, err := s.MarkNotificationRead(ctx, "ntf_missing", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("read missing: %v", err)
	}
}
