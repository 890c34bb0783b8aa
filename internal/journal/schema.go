package journal

// migrations are applied in order, each once; the index+1 is the version
// recorded in schema_migrations. Never edit one that has shipped: append.
var migrations = []string{
	// 1: rotations and their events.
	schemaV1(ddl{bytes: "BLOB", eventSeq: "INTEGER PRIMARY KEY AUTOINCREMENT"}),
	notifySentMigration,
	newUsernameMigration,
}

// postgresMigrations are the PostgreSQL schema, versioned like migrations:
// the same columns; seq keeps insertion order where SQLite has rowid.
var postgresMigrations = []string{
	schemaV1(ddl{
		rotationSeq: "\n\t\tseq            BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,",
		bytes:       "BYTEA",
		eventSeq:    "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		orderBySeq:  ", seq",
	}),
	notifySentMigration,
	newUsernameMigration,
}

// ddl is what migration 1 writes differently for SQLite and PostgreSQL.
// SQLite gives BIGINT the INTEGER affinity, so both store the same values.
type ddl struct {
	rotationSeq string // PostgreSQL's leading seq column of rotations, or ""
	bytes       string // the type of the sealed secret
	eventSeq    string // events.seq's type and key
	orderBySeq  string // ", seq" where the start-time indexes break ties by seq
}

// schemaV1 is migration 1: rotations and their events.
func schemaV1(d ddl) string {
	return `CREATE TABLE rotations (` + d.rotationSeq + `
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
		new_secret     ` + d.bytes + `,             -- sealed; NULL when none
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
	CREATE UNIQUE INDEX rotations_one_unfinished ON rotations(ref) WHERE step NOT IN ('done', 'failed');
	CREATE INDEX rotations_started ON rotations(started_at` + d.orderBySeq + `);
	CREATE INDEX rotations_ref_started ON rotations(ref, started_at` + d.orderBySeq + `);
	CREATE TABLE events (
		seq         ` + d.eventSeq + `,
		rotation_id TEXT NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
		at          BIGINT NOT NULL,
		step        TEXT NOT NULL,
		detail      TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_rotation ON events(rotation_id, seq);`
}

// newUsernameMigration is migration 3 of both databases: the username that
// goes with the new secret (a deploy token's), kept in plain so that a
// delivery resumed after a crash delivers both.
const newUsernameMigration = `ALTER TABLE rotations ADD COLUMN new_username TEXT NOT NULL DEFAULT ''`

// notifySentMigration is migration 2 of both databases: the notifications
// delivered (see Store.MarkNotificationSent). IF NOT EXISTS: earlier
// versions created the same table outside migrations.
const notifySentMigration = `CREATE TABLE IF NOT EXISTS notify_sent (
		key     TEXT PRIMARY KEY,
		sent_at BIGINT NOT NULL -- unix nanoseconds
	)`
