package devserver

import (
	"database/sql"
	"fmt"
	"net/url"
	"sort"
	"strings"

	persistencespb "go.temporal.io/server/api/persistence/v1"
	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite" // the "sqlite" driver, as the server's SQLite plugin uses it
)

// visibilityIndexesKept are the indexes of Temporal's SQLite visibility table that the
// delivery log and the Web UI's usual filters use: the default listing (by close and start
// time), workflow id, type, execution status, task queue and execution time. Besides them,
// trimVisibilityIndexes keeps the index of every Keyword column that a namespace has mapped
// to a search attribute (hookflow's HookflowEventType and HookflowStatus among them; the
// keyword lists are searched through the table's full-text index, which stays).
//
// Temporal's schema has 58 indexes on the table, one for every search attribute it may
// hold, and every visibility write (a workflow's start, each search-attribute upsert, its
// close) updates all of them, and compiling each write's statement walks them: on the
// embedded server they were the largest single cost of a delivery. The others are dropped;
// a query on what they indexed (such as HistoryLength or a Bool01 attribute) still works,
// by reading the table.
var visibilityIndexesKept = map[string]bool{
	"default_idx": true, "by_execution_time": true, "by_workflow_id": true, "by_workflow_type": true,
	"by_status": true, "by_task_queue": true,
}

// keywordIndexSQL is the statement of Temporal's SQLite schema that creates the index of the
// Keyword column numbered %s ("01" to "10"), for a column mapped after its index was dropped.
const keywordIndexSQL = `CREATE INDEX IF NOT EXISTS by_keyword_%s ON executions_visibility (namespace_id, Keyword%[1]s, (COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id)`

// trimVisibilityIndexes drops the indexes of the visibility table in the SQLite file path
// that neither are in visibilityIndexesKept nor index a Keyword column that a namespace of
// the file uses, and creates the index of a used Keyword column when an earlier trim dropped
// it (an attribute added since). It runs before the server opens the file; on a file it
// trimmed before, with no attribute added since, it changes nothing. A search attribute
// added while the server runs gets its index at the next start; until then a query on it
// reads the table.
func trimVisibilityIndexes(path string) (dropped int, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	keywordColumns, err := mappedKeywordColumns(db)
	if err != nil {
		return 0, err
	}
	keep := map[string]bool{}
	for name := range visibilityIndexesKept {
		keep[name] = true
	}
	for _, n := range keywordColumns {
		keep["by_keyword_"+n] = true
	}
	names, err := stringColumn(db, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		if keep[name] {
			continue
		}
		if _, err := db.Exec(fmt.Sprintf(`DROP INDEX IF EXISTS "%s"`, name)); err != nil {
			return dropped, fmt.Errorf("drop index %s: %w", name, err)
		}
		dropped++
	}
	for _, n := range keywordColumns {
		if _, err := db.Exec(fmt.Sprintf(keywordIndexSQL, n)); err != nil {
			return dropped, fmt.Errorf("create index by_keyword_%s: %w", n, err)
		}
	}
	return dropped, nil
}

// mappedKeywordColumns returns the numbers ("01" to "10") of the visibility table's Keyword
// columns that a namespace in the file maps to a search attribute. The mapping lives in
// each namespace's record, and differs between namespaces and databases: the server
// assigns free columns in no fixed order.
func mappedKeywordColumns(db *sql.DB) ([]string, error) {
	rows, err := db.Query(`SELECT name, data, data_encoding FROM namespaces`)
	if err != nil {
		return nil, fmt.Errorf("read namespaces: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var name, encoding string
		var data []byte
		if err := rows.Scan(&name, &data, &encoding); err != nil {
			return nil, err
		}
		if !strings.EqualFold(encoding, "proto3") {
			return nil, fmt.Errorf("namespace %q is stored as %q, not proto3", name, encoding)
		}
		var detail persistencespb.NamespaceDetail
		if err := proto.Unmarshal(data, &detail); err != nil {
			return nil, fmt.Errorf("namespace %q: %w", name, err)
		}
		for column := range detail.GetConfig().GetCustomSearchAttributeAliases() {
			n, ok := strings.CutPrefix(column, "Keyword")
			if ok && len(n) == 2 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' && n[1] <= '9' {
				seen[n] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	columns := make([]string, 0, len(seen))
	for n := range seen {
		columns = append(columns, n)
	}
	sort.Strings(columns)
	return columns, nil
}

// stringColumn returns the one text column of the rows of query.
func stringColumn(db *sql.DB, query string) ([]string, error) {
	rows, err := db.Query(query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var values []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		values = append(values, v)
	}
	return values, rows.Err()
}
