package store

// CodeStore is the part of Store for codes. (Scaffold: filled in by the codes work.)
type CodeStore interface{}

// The codes tables (migration 4 is codes, 5 is messages; both lists in sqlite.go and
// postgres.go name these). Until they land on main they may still change.
const (
	sqliteCodesMigration   = `SELECT 1`
	postgresCodesMigration = `SELECT 1`
)
