// SinkDO's schema, as an append-only list of migrations. Never edit an applied entry.
import type { Migration } from "../storage/migrations";

export const SINK_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    sql: `
      -- The sink: its configuration, secret and delivery state, everything the alarm needs after an
      -- eviction or a restart. One row, rewritten as a whole (one row write per change).
      CREATE TABLE sink (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sink_id TEXT NOT NULL,
        source TEXT NOT NULL,            -- "project/stream"
        source_generation INTEGER NOT NULL,
        incarnation TEXT NOT NULL,       -- new each time the sink is created; part of webhook ids
        config TEXT NOT NULL,            -- canonical JSON: url, envelope, typePrefix, required
        content_type TEXT NOT NULL,      -- the source's
        secret TEXT NOT NULL,            -- whsec_..., signs every request
        created_at INTEGER NOT NULL,
        delivered_pos INTEGER NOT NULL,  -- everything below was acknowledged by the receiver
        batch_from INTEGER,              -- the batch in flight: fixed once chosen, so every retry
        batch_to INTEGER,                --   sends the same webhook-id with the same bytes
        batch_read_at INTEGER,           --   (and the same CloudEvents time)
        state TEXT NOT NULL,             -- active | retrying | disabled
        failures INTEGER NOT NULL,       -- failed attempts in a row
        failing_since INTEGER,           -- first failure of the current run of failures
        next_attempt_at INTEGER,
        last_error TEXT,
        last_error_at INTEGER,
        attempt_seq INTEGER NOT NULL     -- attempts made so far; the ring slot is seq % RING_SIZE
      );
      -- The last attempts, as a ring: a slot is overwritten in place, one row write per attempt.
      CREATE TABLE attempts (
        slot INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        webhook_id TEXT NOT NULL,
        from_pos INTEGER NOT NULL,
        to_pos INTEGER NOT NULL,
        status INTEGER,                  -- NULL: no answer (network error, timeout)
        latency_ms INTEGER NOT NULL,
        error TEXT
      );
    `,
  },
  {
    id: 2,
    sql: `
      -- Retention gaps (sink-do.ts): batch_gap = 1 when the batch in flight is a gap (the source
      -- trimmed [batch_from, batch_to) before the sink had it), with the messages lost (NULL: the
      -- source could not say); gaps: the sink's gaps so far as JSON (sinks/commands.ts SinkGaps).
      ALTER TABLE sink ADD COLUMN batch_gap INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sink ADD COLUMN batch_gap_messages INTEGER;
      ALTER TABLE sink ADD COLUMN gaps TEXT;
    `,
  },
];
