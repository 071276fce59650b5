package devserver

import (
	"database/sql"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

// TestTrimVisibilityIndexes: on a file with Temporal's schema, the indexes not kept are
// dropped, the kept ones stay with the index of each Keyword column the namespace maps to a
// search attribute, a second run changes nothing, and a Keyword column mapped after its
// index was dropped gets it back.
func TestTrimVisibilityIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "temporal.db")
	sqlConf := &config.SQL{PluginName: sqliteplugin.PluginName, DatabaseName: path,
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal"}}
	if err := sqliteschema.SetupSchema(sqlConf); err != nil {
		t.Fatal(err)
	}
	before := visibilityIndexes(t, path)
	// No namespace maps a Keyword column yet: all ten keyword indexes go.
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

	// A namespace with two Keyword attributes (and a list, which has no such index).
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, "trim", false, map[string]enumspb.IndexedValueType{
		"TrimStatus": enumspb.INDEXED_VALUE_TYPE_KEYWORD, "TrimType": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"TrimHosts": enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for name := range visibilityIndexesKept {
		want[name] = true
	}
	for column := range ns.Detail.Config.CustomSearchAttributeAliases {
		if n, ok := strings.CutPrefix(column, "Keyword"); ok && !strings.HasPrefix(n, "List") {
			want["by_keyword_"+n] = true
		}
	}
	if len(want) != len(visibilityIndexesKept)+2 {
		t.Fatalf("mapping %v: want two Keyword columns", ns.Detail.Config.CustomSearchAttributeAliases)
	}
	for i := 0; i < 2; i++ {
		if n, err := trimVisibilityIndexes(path); err != nil || n != 0 {
			t.Errorf("trim %d with the namespace dropped %d: %v", i+1, n, err)
		}
		got := visibilityIndexes(t, path)
		if len(got) != len(want) {
			t.Errorf("trim %d: indexes %v, want %v", i+1, got, want)
		}
		for _, name := range got {
			if !want[name] {
				t.Errorf("trim %d: index %s, want only %v", i+1, name, want)
			}
		}
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
