// A transactional outbox: calls to other objects that a committed change makes necessary. The caller
// writes the call as a row in the same SQLite transaction as the change; the object's alarm makes
// it, and retries it with backoff until it succeeds. So a crash, an eviction or a failing peer can
// delay such a call but never lose it. Calls are made at least once: each must be idempotent.
import type { z } from "zod";
import { backoffMs, type Backoff } from "../backoff";
import { mapLimit } from "../map-limit";

/** The outbox table as first created by the owners' migrations. Never edit: migrations have applied it. */
export const OUTBOX_TABLE_V1 = `
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE,                 -- set for calls that may be cancelled or replaced by key
    call TEXT NOT NULL,              -- the call, as JSON
    due_at INTEGER NOT NULL,         -- ms since epoch
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
  );
  CREATE INDEX outbox_due ON outbox (due_at);
`;

/** Calls made side by side by one drain. */
const DRAIN_CONCURRENCY = 16;
/** Calls made per drain; the rest wait for the next alarm, which is then due at once. */
const DRAIN_BATCH = 256;
/** Retry backoff: 200 ms doubling up to 5 minutes, half to all of each step so peers are not hit in step. */
const RETRY_BACKOFF: Backoff = { baseMs: 200, capMs: 5 * 60_000, jitter: 0.5 };

type OutboxRow = { id: number; call: string; attempts: number };

export interface OutboxEntry<C> {
  call: C;
  /** Only one pending call per key: adding again replaces it, and `cancel` removes it. */
  key?: string;
  /** Not before this time (default: now). */
  dueAt?: number;
}

export class Outbox<C> {
  private draining: Promise<void> | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly schema: z.ZodType<C>,
    /** Makes one call; throws if it did not succeed. Replaceable so tests can inject failures. */
    public send: (call: C) => Promise<void>,
    /** False while the owner's schema (and so this table) does not exist yet. */
    private readonly ready: () => boolean,
  ) {}

  /** Records calls; run it inside the transaction that commits the change they follow from. */
  add(entries: readonly OutboxEntry<C>[], now = Date.now()): void {
    for (const { call, key, dueAt } of entries) {
      const json = JSON.stringify(this.schema.parse(call));
      if (key !== undefined) this.storage.sql.exec("DELETE FROM outbox WHERE key = ?", key);
      this.storage.sql.exec("INSERT INTO outbox (key, call, due_at) VALUES (?, ?, ?)", key ?? null, json, dueAt ?? now);
    }
  }

  cancel(key: string): void {
    if (this.ready()) this.storage.sql.exec("DELETE FROM outbox WHERE key = ?", key);
  }

  /** When the earliest pending call is due, or null when there is none. */
  nextDue(): number | null {
    if (!this.ready()) return null;
    return this.storage.sql.exec<{ at: number | null }>("SELECT MIN(due_at) AS at FROM outbox").one().at;
  }

  pending(): number {
    if (!this.ready()) return 0;
    return this.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbox").one().n;
  }

  /** Makes the calls that are due (single flight). A failed call is retried later, never dropped. */
  drain(): Promise<void> {
    if (!this.draining) {
      this.draining = this.drainDue().finally(() => {
        this.draining = null;
      });
    }
    return this.draining;
  }

  /** Resolves once a drain in flight (if any) has finished. */
  async settled(): Promise<void> {
    await this.draining;
  }

  private async drainDue(): Promise<void> {
    if (!this.ready()) return;
    const now = Date.now();
    const rows = this.storage.sql
      .exec<OutboxRow>("SELECT id, call, attempts FROM outbox WHERE due_at <= ? ORDER BY due_at, id LIMIT ?", now, DRAIN_BATCH)
      .toArray();
    await mapLimit(rows, DRAIN_CONCURRENCY, (row) => this.attempt(row));
  }

  private async attempt(row: OutboxRow): Promise<void> {
    try {
      await this.send(this.schema.parse(JSON.parse(row.call)));
      this.storage.sql.exec("DELETE FROM outbox WHERE id = ?", row.id);
    } catch (error) {
      const attempts = row.attempts + 1;
      const dueAt = Date.now() + backoffMs(RETRY_BACKOFF, attempts);
      const message = error instanceof Error ? error.message : String(error);
      console.warn(`outbox call ${row.call} failed (attempt ${attempts}); retrying in ${Math.round(dueAt - Date.now())} ms: ${message}`);
      this.storage.sql.exec(
        "UPDATE outbox SET attempts = ?, due_at = ?, last_error = ? WHERE id = ?",
        attempts,
        dueAt,
        message.slice(0, 1_000),
        row.id,
      );
    }
  }
}
