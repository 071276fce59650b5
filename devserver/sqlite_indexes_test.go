package devserver

import (
	"database/sql"
	"path/filepath"
	"sort"
	"testing"

	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// TestTrimVisibilityIndexes: on a file with Temporal's schema, the indexes not kept are
// dropped, the kept ones stay, and a second run drops nothing.
func TestTrimVisibilityIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "temporal.db")
	if err := sqliteschema.SetupSchema(&config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: path,
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal"}}); err != nil {
		t.Fatal(err)
	}
	before := visibilityIndexes(t, path)
	dropped, err := trimVisibilityIndexes(path)
	if err != nil {
		t.Fatal(err)
	}
	after := visibilityIndexes(t, path)
	if len(before) < 50 || dropped != len(before)-len(visibilityIndexesKept) || len(after) != len(visibilityIndexesKept) {
		t.Errorf("%d indexes, %d dropped, %d left: %v", len(before), dropped, len(after), after)
	}
	for _, name := range after {
		if !visibilityIndexesKept[name] {
			t.Errorf("index %s left", name)
		}
	}
	if n, err := trimVisibilityIndexes(path); err != nil || n != 0 {
		t.Errorf("a second trim dropped %d: %v", n, err)
	}
}

func visibilityIndexes(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
