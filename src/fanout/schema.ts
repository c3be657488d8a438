// StreamSubscribersDO's schema, as an append-only list of migrations. Never edit an applied entry.
import type { Migration } from "../storage/migrations";
import { OUTBOX_TABLE_V1 } from "../storage/outbox";

export const SUBSCRIBERS_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    sql: `
      -- Fan-out progress for the one source this object serves, in source positions.
      CREATE TABLE fanout (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        source TEXT NOT NULL,
        target_pos INTEGER NOT NULL,     -- how far the source reaches (recorded on publish)
        cohort_pos INTEGER NOT NULL,     -- every in-step subscriber has been handed data up to here
        breaker_state TEXT NOT NULL,
        breaker_failures INTEGER NOT NULL,
        breaker_opened_at INTEGER
      );
      -- lag_pos NULL: in step with the cohort. Otherwise the subscriber is caught up on its own from
      -- lag_pos (backfill, or repair after failed deliveries), not before next_attempt_at.
      CREATE TABLE subscribers (
        estuary TEXT PRIMARY KEY,
        lag_pos INTEGER,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX subscribers_lagging ON subscribers (lag_pos) WHERE lag_pos IS NOT NULL;
    `,
  },
  {
    id: 2,
    sql: `
      -- Running fan-out cost counters (estuary/cost.ts), kept in the row every round saves anyway.
      ALTER TABLE fanout ADD COLUMN cost TEXT NOT NULL DEFAULT '{}';
    `,
  },
  {
    id: 3,
    sql: `
      -- The most recent failed delivery {at, estuary, message} as JSON, shown on the status route.
      ALTER TABLE fanout ADD COLUMN last_error TEXT;
      -- Calls to other objects that committed changes make necessary (storage/outbox.ts).
      ${OUTBOX_TABLE_V1}
    `,
  },
  {
    id: 4,
    sql: `
      -- Push/pull fan-out (rounds.ts). hot_until: the estuary's read lease (ms since the epoch, 0 if
      -- never read); the index lets a round walk only the hot subscribers of a huge list.
      ALTER TABLE subscribers ADD COLUMN hot_until INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX subscribers_hot ON subscribers (hot_until);
      -- Kept with every subscribe and unsubscribe, so counting a million subscribers reads one row.
      ALTER TABLE fanout ADD COLUMN subscriber_count INTEGER NOT NULL DEFAULT 0;
      UPDATE fanout SET subscriber_count = (SELECT COUNT(*) FROM subscribers);
    `,
  },
  {
    id: 5,
    sql: `
      -- The commit policy (commit.ts): how the source's committed offset is decided.
      CREATE TABLE commit_policy (id INTEGER PRIMARY KEY CHECK (id = 1), mode TEXT NOT NULL, quorum INTEGER);
      -- Whether an estuary counts for the policy, and for a pulled one where its last read left it.
      ALTER TABLE subscribers ADD COLUMN required INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE subscribers ADD COLUMN known_pos INTEGER;
      -- The data sinks of the source, as they report their delivered positions.
      CREATE TABLE sinks (sink_id TEXT PRIMARY KEY, required INTEGER NOT NULL, delivered_pos INTEGER NOT NULL) WITHOUT ROWID;
      -- Queue jobs out (queued-jobs.ts): where the oldest starts, and when that was last known.
      ALTER TABLE fanout ADD COLUMN queued_from INTEGER;
      ALTER TABLE fanout ADD COLUMN queued_at INTEGER;
    `,
  },
  {
    id: 6,
    sql: `
      -- Each subscriber's position is an explicit state (repository.ts), counted per position for
      -- the commit policy (commit/ledger.ts). held_pos: a subscriber not known to be in step holds
      -- this far (lag_pos NULL). Rows of before are taken at the last position they reported, the
      -- laggards no further than the oldest queue job out: a conservative start that catches up.
      ALTER TABLE subscribers ADD COLUMN held_pos INTEGER;
      UPDATE subscribers SET held_pos = COALESCE(known_pos, 0) WHERE lag_pos IS NULL;
      UPDATE subscribers SET lag_pos = MIN(lag_pos, COALESCE((SELECT queued_from FROM fanout), lag_pos)) WHERE lag_pos IS NOT NULL;
      ALTER TABLE subscribers DROP COLUMN known_pos;
      -- The in-step subscribers, by lease: a round finds those whose lease ran out without reading the rest.
      CREATE INDEX subscribers_in_step ON subscribers (hot_until) WHERE lag_pos IS NULL AND held_pos IS NULL;
      -- Subscribers per counted position (-1: in step with the cohort) and whether they are required.
      CREATE TABLE commit_positions (pos INTEGER NOT NULL, required INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (pos, required)) WITHOUT ROWID;
      INSERT INTO commit_positions (pos, required, n) SELECT COALESCE(lag_pos, held_pos), required, COUNT(*) FROM subscribers GROUP BY 1, 2;
      -- Queue jobs out (jobs.ts), one row each until reported, repaired or expired: its estuaries
      -- hold no more than hold_pos until then.
      CREATE TABLE fanout_jobs (
        job_id INTEGER PRIMARY KEY,
        from_pos INTEGER NOT NULL,
        to_pos INTEGER NOT NULL,
        hold_pos INTEGER NOT NULL,
        sent_at INTEGER NOT NULL,
        required INTEGER NOT NULL,
        optional INTEGER NOT NULL,
        estuaries TEXT NOT NULL
      );
      ALTER TABLE fanout DROP COLUMN queued_from;
      ALTER TABLE fanout DROP COLUMN queued_at;
    `,
  },
  {
    id: 7,
    sql: `
      -- Which creation of a sink its position belongs to (commit/store.ts): a report from a sink
      -- deleted and created again under the same id must not move the new one. NULL for sinks
      -- registered before; the first report adopts its incarnation.
      ALTER TABLE sinks ADD COLUMN incarnation TEXT;
    `,
  },
];
