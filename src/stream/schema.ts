// StreamDO's schema, as an append-only list of migrations. Never edit an applied entry.
import type { Migration } from "../storage/migrations";
import { OUTBOX_TABLE_V1 } from "../storage/outbox";
import { COLD_SEGMENTS_TABLE } from "./cold/segment-table";

export const STREAM_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    sql: `
      -- One row describing this object's stream. It outlives deletion so the generation keeps
      -- counting: a re-created stream never matches an ETag or cursor of its predecessor.
      CREATE TABLE stream (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        generation INTEGER NOT NULL,
        status TEXT NOT NULL,            -- active | soft_deleted | deleted
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        ttl_seconds INTEGER,
        expires_at INTEGER,              -- ms since epoch, from Stream-Expires-At
        last_access INTEGER NOT NULL,    -- ms since epoch, anchors the sliding TTL
        tail INTEGER NOT NULL,           -- position after the last stored byte
        closed INTEGER NOT NULL,
        closed_by TEXT,                  -- producer tuple that closed the stream, as JSON
        last_stream_seq TEXT,
        fork_source TEXT,                -- "project/stream" this stream was forked from
        fork_position INTEGER,           -- positions below this are read from the source
        fork_sub_offset INTEGER
      );
      -- Stored data. A row never exceeds ROW_BYTES (DO SQLite caps a value at 2 MB), so large
      -- appends and large JSON messages span several rows.
      CREATE TABLE chunks (
        start_pos INTEGER PRIMARY KEY,
        end_pos INTEGER NOT NULL,
        data BLOB NOT NULL,
        message_end INTEGER NOT NULL,    -- a message (JSON value, or append in byte mode) ends here
        append_end INTEGER NOT NULL      -- an append ends here
      );
      CREATE TABLE producers (
        id TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL,
        last_seq INTEGER NOT NULL
      );
      -- Streams forked from this one; while any remain, deleting this stream only soft-deletes it.
      CREATE TABLE forks (name TEXT PRIMARY KEY);
    `,
  },
  {
    id: 2,
    sql: `
      -- Estuary streams receive fan-out; fanout = this stream has subscribers to publish to.
      ALTER TABLE stream ADD COLUMN estuary INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE stream ADD COLUMN fanout INTEGER NOT NULL DEFAULT 0;
      -- For an estuary: how far (in the source's positions) each source has been applied. It is
      -- written in the same transaction as the delivered data, which is what makes delivery
      -- exactly-once: a re-delivery below this position is dropped.
      CREATE TABLE estuary_sources (source TEXT PRIMARY KEY, applied_pos INTEGER NOT NULL);
    `,
  },
  {
    id: 3,
    sql: `
      -- Public streams can be read without a token (writes still need one).
      ALTER TABLE stream ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 4,
    sql: `
      -- A delivery writes one row. Its last chunk names the source and the source position it
      -- brings the estuary to; neither the stream row's tail nor estuary_sources is rewritten.
      -- Both become checkpoints that are brought up to date when the object loads: the tail from
      -- the last chunk, each applied position from the tagged chunks at or after its checked_pos.
      ALTER TABLE chunks ADD COLUMN source TEXT;
      ALTER TABLE chunks ADD COLUMN source_to INTEGER;
      -- Rebuilt WITHOUT ROWID so that a checkpoint writes one row, not a row and an index entry.
      CREATE TABLE estuary_sources_v2 (
        source TEXT PRIMARY KEY,
        applied_pos INTEGER NOT NULL,
        checked_pos INTEGER NOT NULL     -- applied_pos accounts for every chunk starting below this
      ) WITHOUT ROWID;
      INSERT INTO estuary_sources_v2 (source, applied_pos, checked_pos) SELECT source, applied_pos, 0 FROM estuary_sources;
      DROP TABLE estuary_sources;
      ALTER TABLE estuary_sources_v2 RENAME TO estuary_sources;
    `,
  },
  {
    id: 5,
    sql: `
      -- A row packs the messages of one append (up to ROW_BYTES) instead of holding one message:
      -- a 100-message append writes one row, and a catch-up read walks 100x fewer rows.
      -- inner_ends lists where messages end inside the row; rows written before hold one message
      -- (or part of one) and leave it NULL.
      ALTER TABLE chunks ADD COLUMN inner_ends BLOB;
    `,
  },
  {
    id: 6,
    sql: `
      -- A fork registration names the fork's generation, so a late release from a deleted fork
      -- never unpins a fork re-created under the same name.
      ALTER TABLE forks ADD COLUMN generation INTEGER;
      -- Calls to other objects that committed changes make necessary (storage/outbox.ts).
      ${OUTBOX_TABLE_V1}
    `,
  },
  {
    id: 7,
    sql: `
      -- The open WebSocket count this stream last reported to its project (socket-report.ts). A
      -- restart drops sockets without close events; comparing on start notices it and reports again.
      CREATE TABLE socket_report (id INTEGER PRIMARY KEY CHECK (id = 1), open INTEGER NOT NULL);
    `,
  },
  {
    id: 8,
    sql: `
      -- Subscriptions (reserved subscription APIs) watching this stream: each append notifies them.
      -- Set when a subscription links the stream or the stream's creation matches one; an append to
      -- a stream without watchers costs nothing extra.
      CREATE TABLE watchers (subscription TEXT PRIMARY KEY, incarnation TEXT NOT NULL) WITHOUT ROWID;
      -- A stream made before its project kept a stream registry joins it now (the outbox call every
      -- new stream makes), so subscription globs find it too. A new object has no stream row yet.
      INSERT INTO outbox (call, due_at)
        SELECT json_object('kind', 'registerStream', 'stream', name, 'generation', generation), 0 FROM stream WHERE status = 'active';
    `,
  },
  {
    id: 9,
    sql: `
      -- Hot leases this estuary holds (estuary/puller.ts): until when each source pushes to it. Kept
      -- so an estuary that wakes from hibernation with WebSockets open renews them in time.
      CREATE TABLE estuary_leases (source TEXT PRIMARY KEY, pushed_until INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    id: 10,
    sql: `
      -- Data sinks (signed outbound webhooks) this stream feeds: each is told the tail after every
      -- commit. A stream without sinks costs nothing extra per append.
      CREATE TABLE sink_links (sink_id TEXT PRIMARY KEY) WITHOUT ROWID;
    `,
  },
  {
    id: 11,
    sql: `
      -- The envelope of each subscription (estuary/envelope.ts) as JSON: NULL for raw, the source's
      -- messages as they are; otherwise what the estuary needs to turn each into a CloudEvent.
      ALTER TABLE estuary_sources ADD COLUMN envelope TEXT;
    `,
  },
  {
    id: 12,
    sql: `
      -- Retention (retention.ts). appended_at: when the row was written (ms since epoch), for
      -- max-age; rows written before stay NULL and count as old. retention: the stream's policy as
      -- its canonical Stream-Retention value (NULL keeps everything); retention_default: it came
      -- from a default (project or estuary), not the PUT's header. earliest: positions below it were
      -- trimmed; it moves in the same transaction as the deletes.
      ALTER TABLE chunks ADD COLUMN appended_at INTEGER;
      ALTER TABLE stream ADD COLUMN retention TEXT;
      ALTER TABLE stream ADD COLUMN retention_default INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE stream ADD COLUMN earliest INTEGER NOT NULL DEFAULT 0;
    `,
  },
  // 13 is unused; ids only need to ascend.
  {
    id: 14,
    sql: COLD_SEGMENTS_TABLE,
  },
  {
    id: 16,
    sql: `
      -- Presence (src/presence/): users present on this stream, or waiting out the grace period
      -- before their leave (leave_at set). A leave deletes the row.
      -- info: the token's presence info (JSON) of the connection that joined, or NULL.
      CREATE TABLE presence_members (user TEXT PRIMARY KEY, since INTEGER NOT NULL, leave_at INTEGER, info TEXT) WITHOUT ROWID;
      -- Presence events not yet appended to the stream's presence log, in order; batch is set once
      -- a flush has numbered them (the batch number is the log append's Producer-Seq).
      CREATE TABLE presence_outgoing (seq INTEGER PRIMARY KEY, event TEXT NOT NULL, batch INTEGER);
      -- This object's producer id on its presence log and the next batch number.
      CREATE TABLE presence_producer (id INTEGER PRIMARY KEY CHECK (id = 1), producer TEXT NOT NULL, next INTEGER NOT NULL);
    `,
  },
];
