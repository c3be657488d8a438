// Presence events on their way to the stream's presence log. Each change writes its events here in
// the transaction that changes the member table, with one keyed outbox call (storage/outbox.ts) that
// flushes them: durable, retried, surviving restarts. A flush sends the oldest batch as one JSON
// append with an idempotent producer (this object's own id; the batch number is Producer-Seq), so a
// retry of a batch that did land is a duplicate the log drops: every event is in the log once, in order.
import type { Env } from "../env";
import type { Outbox } from "../storage/outbox";
import type { StreamCall } from "../stream/calls";
import { streamStub } from "../stream/stub";
import type { PresenceEvent } from "./events";
import { presenceLogKey } from "./log-address";
import { ensurePresenceLog } from "./log-stream";

/** The one pending flush of this stream's presence events. */
export const PRESENCE_FLUSH_KEY = "presence-flush";
/** Events per append: well under a row (1 MiB) at the 1 KiB or so an event takes at most. */
const BATCH_EVENTS = 500;
/** Appends per flush: every socket a stream may hold (WS_MAX_PER_STREAM, 10,000) joining at once. */
const FLUSH_BATCHES = 20;

type Pending = { seq: number; event: string };

export class PresenceOutgoing {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly env: Env,
    private readonly outbox: Outbox<StreamCall>,
  ) {}

  /** Queues events; run it inside the transaction that commits the change they describe. */
  add(events: readonly PresenceEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) this.storage.sql.exec("INSERT INTO presence_outgoing (event) VALUES (?)", JSON.stringify(event));
    this.outbox.add([{ key: PRESENCE_FLUSH_KEY, call: { kind: "flushPresence" } }]);
  }

  /**
   * The outbox call: appends the batches in order (creating the log on first use) until none is
   * left. It loops rather than queueing another call: the outbox row being attempted is deleted by
   * id once this returns, and SQLite may give a row added meanwhile that same id.
   */
  async flush(source: string): Promise<void> {
    for (let sent = 0; sent < FLUSH_BATCHES; sent++) {
      const batch = this.claimBatch();
      if (!batch) return;
      await this.append(source, batch);
      this.settle(batch.id);
    }
    // Failing makes the outbox keep this call and come back after its backoff.
    throw new Error(`more than ${FLUSH_BATCHES} batches of presence events wait; the rest follow`);
  }

  private async append(source: string, batch: { id: number; producer: string; events: Pending[] }): Promise<void> {
    const body = new TextEncoder().encode(`[${batch.events.map((row) => row.event).join(",")}]`);
    const log = streamStub(this.env, presenceLogKey(source));
    const append = () => log.append({ contentType: "application/json", body, close: false, producer: { id: batch.producer, epoch: 0, seq: batch.id } });
    let result = await append();
    if (!result.ok && result.code === "not_found") {
      await ensurePresenceLog(this.env, source);
      result = await append();
    }
    if (!result.ok) throw new Error(`presence log append refused: ${result.code} ${result.message}`);
  }

  /** The batch is in the log (a duplicate included): its events go. */
  settle(batch: number): void {
    this.storage.sql.exec("DELETE FROM presence_outgoing WHERE batch = ?", batch);
  }

  /** The batch to send: the one a failed flush left, or the next events numbered as a new one. */
  private claimBatch(): { id: number; producer: string; events: Pending[] } | null {
    return this.storage.transactionSync(() => {
      const sql = this.storage.sql;
      let producer = sql.exec<{ producer: string; next: number }>("SELECT producer, next FROM presence_producer").toArray()[0];
      if (!producer) {
        producer = { producer: `presence-${crypto.randomUUID()}`, next: 0 };
        sql.exec("INSERT INTO presence_producer (id, producer, next) VALUES (1, ?, 0)", producer.producer);
      }
      let id = sql.exec<{ b: number | null }>("SELECT MIN(batch) AS b FROM presence_outgoing").one().b;
      if (id === null) {
        const last = sql.exec<{ seq: number }>("SELECT seq FROM presence_outgoing ORDER BY seq LIMIT 1 OFFSET ?", BATCH_EVENTS - 1).toArray()[0];
        const upTo = last?.seq ?? Number.MAX_SAFE_INTEGER;
        id = producer.next;
        const claimed = sql.exec("UPDATE presence_outgoing SET batch = ? WHERE batch IS NULL AND seq <= ?", id, upTo).rowsWritten;
        if (claimed === 0) return null;
        sql.exec("UPDATE presence_producer SET next = ? WHERE id = 1", id + 1);
      }
      const events = sql.exec<Pending>("SELECT seq, event FROM presence_outgoing WHERE batch = ? ORDER BY seq", id).toArray();
      return { id, producer: producer.producer, events };
    });
  }
}
