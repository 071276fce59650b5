package store

import (
	"path/filepath"
	"testing"
	"time"
)

func TestSQLite(t *testing.T) {
	runStoreSuite(t, func(t *testing.T) opener {
		path := filepath.Join(t.TempDir(), "hookflow.db")
		return func() (Store, error) { return OpenSQLite(path) }
	})
}

// Rows written before timestamps had a fixed width still read back.
func TestSQLiteReadsShortTimestamps(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if _, _, err := s.AddNotification(ctx, Notification{ID: "ntf_1", DeliveryID: "whs_1", CreatedAt: baseTime}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 12, 0, 1, 500000000, time.UTC)
	if _, err := s.db.ExecContext(ctx, `UPDATE notifications SET read_at = ?`, at.Format(time.RFC3339Nano)); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListNotifications(ctx, false)
	if err != nil || len(all) != 1 || all[0].ReadAt == nil || !all[0].ReadAt.Equal(at) {
		t.Errorf("%+v %v", all, err)
	}
}

// The file is in WAL mode with synchronous=normal, the settings DESIGN.md measured.
func TestSQLitePragmas(t *testing.T) {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "hookflow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode string
	var synchronous, busyTimeout int
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q %v", mode, err)
	}
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA synchronous`).Scan(&synchronous); err != nil || synchronous != 1 {
		t.Errorf("synchronous %d %v, want 1 (normal)", synchronous, err)
	}
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA busy_timeout`).Scan(&busyTimeout); err != nil || busyTimeout != 10000 {
		t.Errorf("busy_timeout %d %v", busyTimeout, err)
	}
}
