// SinkDO's only door to SQLite: SQL text, row shapes and row-to-domain mapping live here.
import { GapsViewSchema, type GapsView } from "../contract/gaps";
import type { Gap } from "../contract/fanout";
import type { SinkConfig } from "./commands";

export type SinkStatus = "active" | "retrying" | "disabled";

export interface InFlight {
  from: number;
  to: number;
  readAt: number;
  /** The source trimmed [from, to) before the sink had it: this batch is a gap notice, not data. */
  gap?: Gap;
}

export interface SinkRecord {
  sinkId: string;
  source: string;
  sourceGeneration: number;
  incarnation: string;
  config: SinkConfig;
  contentType: string;
  secret: string;
  createdAt: number;
  delivered: number;
  batch: InFlight | null;
  state: SinkStatus;
  failures: number;
  failingSince: number | null;
  nextAttemptAt: number | null;
  lastError: { at: number; message: string } | null;
  attemptSeq: number;
  /** Gaps retention left in this sink's delivery, or null while there were none. */
  gaps: GapsView | null;
}

export interface Attempt {
  at: number;
  webhookId: string;
  from: number;
  to: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
}

/** How many attempts a sink keeps for its status route. */
export const RING_SIZE = 100;

type SinkRow = {
  sink_id: string;
  source: string;
  source_generation: number;
  incarnation: string;
  config: string;
  content_type: string;
  secret: string;
  created_at: number;
  delivered_pos: number;
  batch_from: number | null;
  batch_to: number | null;
  batch_read_at: number | null;
  state: string;
  failures: number;
  failing_since: number | null;
  next_attempt_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
  attempt_seq: number;
  batch_gap: number;
  batch_gap_messages: number | null;
  gaps: string | null;
};

type AttemptRow = {
  at: number;
  webhook_id: string;
  from_pos: number;
  to_pos: number;
  status: number | null;
  latency_ms: number;
  error: string | null;
};

export class SinkRepository {
  constructor(private readonly sql: SqlStorage) {}

  load(): SinkRecord | null {
    const row = this.sql.exec<SinkRow>("SELECT * FROM sink WHERE id = 1").toArray()[0];
    if (!row) return null;
    return {
      sinkId: row.sink_id,
      source: row.source,
      sourceGeneration: row.source_generation,
      incarnation: row.incarnation,
      config: JSON.parse(row.config) as SinkConfig,
      contentType: row.content_type,
      secret: row.secret,
      createdAt: row.created_at,
      delivered: row.delivered_pos,
      batch: row.batch_from === null || row.batch_to === null ? null : { from: row.batch_from, to: row.batch_to, readAt: row.batch_read_at ?? row.created_at, ...(row.batch_gap === 1 ? { gap: { messages: row.batch_gap_messages } } : {}) },
      state: row.state as SinkStatus,
      failures: row.failures,
      failingSince: row.failing_since,
      nextAttemptAt: row.next_attempt_at,
      lastError: row.last_error === null ? null : { at: row.last_error_at ?? 0, message: row.last_error },
      attemptSeq: row.attempt_seq,
      gaps: row.gaps === null ? null : GapsViewSchema.parse(JSON.parse(row.gaps)),
    };
  }

  /** An upsert, not INSERT OR REPLACE: updating the one row is one row written, not a delete and an insert. */
  save(sink: SinkRecord): void {
    this.sql.exec(
      `INSERT INTO sink (id, sink_id, source, source_generation, incarnation, config, content_type, secret, created_at,
         delivered_pos, batch_from, batch_to, batch_read_at, state, failures, failing_since, next_attempt_at, last_error, last_error_at, attempt_seq,
         batch_gap, batch_gap_messages, gaps)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET sink_id = excluded.sink_id, source = excluded.source, source_generation = excluded.source_generation,
         incarnation = excluded.incarnation, config = excluded.config, content_type = excluded.content_type, secret = excluded.secret,
         created_at = excluded.created_at, delivered_pos = excluded.delivered_pos, batch_from = excluded.batch_from, batch_to = excluded.batch_to,
         batch_read_at = excluded.batch_read_at, state = excluded.state, failures = excluded.failures, failing_since = excluded.failing_since,
         next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, last_error_at = excluded.last_error_at,
         attempt_seq = excluded.attempt_seq, batch_gap = excluded.batch_gap, batch_gap_messages = excluded.batch_gap_messages, gaps = excluded.gaps`,
      sink.sinkId,
      sink.source,
      sink.sourceGeneration,
      sink.incarnation,
      JSON.stringify(sink.config),
      sink.contentType,
      sink.secret,
      sink.createdAt,
      sink.delivered,
      sink.batch?.from ?? null,
      sink.batch?.to ?? null,
      sink.batch?.readAt ?? null,
      sink.state,
      sink.failures,
      sink.failingSince,
      sink.nextAttemptAt,
      sink.lastError?.message ?? null,
      sink.lastError?.at ?? null,
      sink.attemptSeq,
      sink.batch?.gap ? 1 : 0,
      sink.batch?.gap?.messages ?? null,
      sink.gaps === null ? null : JSON.stringify(sink.gaps),
    );
  }

  /** Overwrites the ring slot of attempt number `seq`. */
  saveAttempt(seq: number, attempt: Attempt): void {
    this.sql.exec(
      `INSERT INTO attempts (slot, seq, at, webhook_id, from_pos, to_pos, status, latency_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (slot) DO UPDATE SET seq = excluded.seq, at = excluded.at, webhook_id = excluded.webhook_id, from_pos = excluded.from_pos,
         to_pos = excluded.to_pos, status = excluded.status, latency_ms = excluded.latency_ms, error = excluded.error`,
      seq % RING_SIZE,
      seq,
      attempt.at,
      attempt.webhookId,
      attempt.from,
      attempt.to,
      attempt.status,
      attempt.latencyMs,
      attempt.error,
    );
  }

  /** The kept attempts, newest first. */
  attempts(): Attempt[] {
    return this.sql
      .exec<AttemptRow>("SELECT at, webhook_id, from_pos, to_pos, status, latency_ms, error FROM attempts ORDER BY seq DESC")
      .toArray()
      .map((row) => ({ at: row.at, webhookId: row.webhook_id, from: row.from_pos, to: row.to_pos, status: row.status, latencyMs: row.latency_ms, error: row.error }));
  }

  wipe(): void {
    this.sql.exec("DELETE FROM attempts");
    this.sql.exec("DELETE FROM sink");
  }
}
