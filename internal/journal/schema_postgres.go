package journal

// postgresMigrations are the PostgreSQL schema, versioned like migrations
// (the same columns; seq keeps insertion order where SQLite has rowid).
// Never edit one that has shipped: append.
var postgresMigrations = []string{
	// 1: rotations and their events.
	`CREATE TABLE rotations (` + rotationsColumns("\n\t\tseq            BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,", "BYTEA") + `
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
