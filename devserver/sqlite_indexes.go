package devserver

import (
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // the "sqlite" driver, as the server's SQLite plugin uses it
)

// visibilityIndexesKept are the indexes of Temporal's SQLite visibility table that the
// delivery log and the Web UI's usual filters use: the default listing (by close and start
// time), workflow id, type, execution status, task queue, execution time, and the custom
// keyword columns (hookflow's keyword search attributes are among them; the keyword lists
// are searched through the table's full-text index, which stays).
//
// Temporal's schema has 58 indexes on the table, one for every search attribute it may
// hold, and every visibility write (a workflow's start, each search-attribute upsert, its
// close) updates all of them: on the embedded server they were the largest single cost of
// a delivery. The other 42 are dropped; a query on what they indexed (such as
// HistoryLength or a Bool01 attribute) still works, by reading the table.
var visibilityIndexesKept = map[string]bool{
	"default_idx": true, "by_execution_time": true, "by_workflow_id": true, "by_workflow_type": true,
	"by_status": true, "by_task_queue": true,
	"by_keyword_01": true, "by_keyword_02": true, "by_keyword_03": true, "by_keyword_04": true, "by_keyword_05": true,
	"by_keyword_06": true, "by_keyword_07": true, "by_keyword_08": true, "by_keyword_09": true, "by_keyword_10": true,
}

// trimVisibilityIndexes drops the indexes of the visibility table in the SQLite file path
// that are not in visibilityIndexesKept, before the server opens the file. On a file it
// trimmed before it drops nothing.
func trimVisibilityIndexes(path string) (dropped int, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND sql IS NOT NULL`)
	if err != nil {
		return 0, err
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, err
		}
		if !visibilityIndexesKept[name] {
			names = append(names, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, name := range names {
		if _, err := db.Exec(fmt.Sprintf(`DROP INDEX IF EXISTS "%s"`, name)); err != nil {
			return dropped, fmt.Errorf("drop index %s: %w", name, err)
		}
		dropped++
	}
	return dropped, nil
}
