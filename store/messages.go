package store

// MessageStore is the part of Store for messages. (Scaffold: filled in by the messages work.)
type MessageStore interface{}

// The messages tables (migration 4 is codes, 5 is messages; both lists in sqlite.go and
// postgres.go name these). Until they land on main they may still change.
const (
	sqliteMessagesMigration   = `SELECT 1`
	postgresMessagesMigration = `SELECT 1`
)
