package journal

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// defaultLeaseCheck is how often a held PostgreSQL lock checks that its
// session is alive.
const defaultLeaseCheck = 5 * time.Second

// lockPostgres takes pg_try_advisory_lock(key) on a connection of its own
// and keeps that connection (the lock lives as long as the session). With
// poll > 0 it tries again every poll until ctx ends; with 0 it fails at once
// with ErrLocked. The key is derived from "tokenwarden" and the schema the
// journal lives in, so that journals in other schemas of the same database
// do not block each other. The held lease pings its session every check and
// reports Lost when that fails.
func lockPostgres(ctx context.Context, dsn string, poll, check time.Duration) (*Lease, error) {
	cc, err := postgresConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("lock state: %w", err)
	}
	target := redactedTarget(cc)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("lock state %s: %w", target, err)
	}
	held := false
	defer func() {
		if !held {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	var schema string
	if err := conn.QueryRow(ctx, `SELECT COALESCE(current_schema(), current_setting('search_path'))`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("lock state %s: %w", target, err)
	}
	key := lockKey(schema)
	for {
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&held); err != nil {
			return nil, fmt.Errorf("lock state %s: %w", target, err)
		}
		if held {
			return watchLease(conn, key, check), nil
		}
		if poll <= 0 {
			return nil, fmt.Errorf("%w (PostgreSQL advisory lock on %s, schema %s)", ErrLocked, target, schema)
		}
		if err := sleep(ctx, poll); err != nil {
			return nil, err
		}
	}
}

// lockKey is the advisory lock key of the journal in schema.
func lockKey(schema string) int64 {
	sum := sha256.Sum256([]byte("tokenwarden\x00" + schema))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// watchLease returns the lease of the lock key held by conn's session; a
// goroutine pings the session every check until Unlock.
func watchLease(conn *pgx.Conn, key int64, check time.Duration) *Lease {
	lost, stop, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(check) // wall-clock on purpose: it paces real I/O
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), check)
				err := conn.Ping(ctx)
				cancel()
				if err != nil {
					close(lost)
					return
				}
			}
		}
	}()
	return &Lease{lost: lost, release: func() {
		close(stop)
		<-done
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case <-lost:
		default:
			var ok bool
			_ = conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&ok)
		}
		// Closing the session releases the lock in any case.
		_ = conn.Close(ctx)
	}}
}
