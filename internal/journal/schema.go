package journal

// migrations are applied in order, each once; the index+1 is the version
// recorded in schema_migrations. Never edit one that has shipped: append.
var migrations = []string{
	// 1: rotations and their events.
	`CREATE TABLE rotations (` + rotationsColumns("", "BLOB") + `
	CREATE INDEX rotations_started ON rotations(started_at);
	CREATE INDEX rotations_ref_started ON rotations(ref, started_at);
	CREATE TABLE events (
		seq         INTEGER PRIMARY KEY AUTOINCREMENT,
		rotation_id TEXT NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
		at          INTEGER NOT NULL,
		step        TEXT NOT NULL,
		detail      TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_rotation ON events(rotation_id, seq);`,
	notifySentMigration,
}

// notifySentMigration is migration 2 of both databases (SQLite reads BIGINT
// as INTEGER): the notifications delivered (see Store.MarkNotificationSent).
// IF NOT EXISTS: earlier versions created the same table outside migrations.
const notifySentMigration = `CREATE TABLE IF NOT EXISTS notify_sent (
		key     TEXT PRIMARY KEY,
		sent_at BIGINT NOT NULL -- unix nanoseconds
	)`

// rotationsColumns is migration 1's rotations table body, the same columns
// in both databases: first is PostgreSQL's extra leading column (or ""),
// bytes the type of the sealed secret. SQLite gives BIGINT the INTEGER
// affinity, so both store the same values.
func rotationsColumns(first, bytes string) string {
	return first + `
		id             TEXT PRIMARY KEY,
		ref            TEXT NOT NULL,
		kind           TEXT NOT NULL,
		strategy       TEXT NOT NULL,
		resource_type  TEXT NOT NULL,
		resource_path  TEXT NOT NULL,
		token_name     TEXT NOT NULL,
		old_token_id   BIGINT NOT NULL DEFAULT 0,
		new_token_id   BIGINT NOT NULL DEFAULT 0,
		new_expires_at BIGINT,           -- unix nanoseconds
		new_secret     ` + bytes + `,             -- sealed; NULL when none
		step           TEXT NOT NULL,
		delivered      TEXT NOT NULL DEFAULT '[]', -- JSON array of sink IDs
		revoke_after   BIGINT,
		reason         TEXT NOT NULL DEFAULT '',
		error          TEXT NOT NULL DEFAULT '',
		attempts       INTEGER NOT NULL DEFAULT 0,
		started_at     BIGINT NOT NULL,
		updated_at     BIGINT NOT NULL,
		finished_at    BIGINT
	);
	-- At most one unfinished rotation per token.
	CREATE UNIQUE INDEX rotations_one_unfinished ON rotations(ref) WHERE step NOT IN ('done', 'failed');`
}
