package journal

// postgresMigrations are the PostgreSQL schema, versioned like migrations
// (the same columns; seq keeps insertion order where SQLite has rowid).
// Never edit one that has shipped: append.
var postgresMigrations = []string{
	// 1: rotations and their events.
	`CREATE TABLE rotations (
		seq            BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
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
		new_secret     BYTEA,            -- sealed; NULL when none
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
	CREATE INDEX rotations_started ON rotations(started_at, seq);
	CREATE INDEX rotations_ref_started ON rotations(ref, started_at, seq);
	CREATE TABLE events (
		seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		rotation_id TEXT NOT NULL REFERENCES rotations(id) ON DELETE CASCADE,
		at          BIGINT NOT NULL,
		step        TEXT NOT NULL,
		detail      TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX events_rotation ON events(rotation_id, seq);`,
	notifySentMigration,
}
