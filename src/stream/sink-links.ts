// The stream side of data sinks: the sinks this stream feeds (one SinkDO each), told the new tail
// after every commit through the shared after-commit notifier (waitUntil plus a safety-net alarm),
// so a sink, however slow or failing its receiver, never delays an append. Sinks read the data
// themselves (readSlice); a notice only says how far the stream reaches.
import { MAX_SINKS_PER_SOURCE, sinkObjectName } from "../contract/sinks";
import type { Env } from "../env";
import { sinkStub } from "../sinks/stub";
import { fail, type Failure } from "../errors";
import { mapLimit } from "../map-limit";
import { AfterCommitNotifier } from "./after-commit-notifier";
import type { StreamMeta, StreamRepository } from "./repository";

/** Sinks told side by side. */
const NOTIFY_CONCURRENCY = 8;

export class SinkLinks {
  private ids: string[] = [];
  private readonly notifier: AfterCommitNotifier;

  constructor(
    private readonly env: Env,
    ctx: DurableObjectState,
    private readonly repo: StreamRepository,
    replan: () => void,
  ) {
    this.notifier = new AfterCommitNotifier(ctx, replan, (meta) => this.notify(meta));
  }

  load(): void {
    this.ids = this.repo.sql
      .exec<{ sink_id: string }>("SELECT sink_id FROM sink_links ORDER BY sink_id")
      .toArray()
      .map((row) => row.sink_id);
  }

  all(): readonly string[] {
    return this.ids;
  }

  dueAt(): number | null {
    return this.notifier.dueAt();
  }

  /** Links a sink (idempotent); refused once the stream feeds MAX_SINKS_PER_SOURCE others. */
  add(sinkId: string): { ok: true } | Failure {
    if (this.ids.includes(sinkId)) return { ok: true };
    if (this.ids.length >= MAX_SINKS_PER_SOURCE) return fail("conflict", `a stream feeds at most ${MAX_SINKS_PER_SOURCE} sinks`);
    this.repo.write("INSERT OR IGNORE INTO sink_links (sink_id) VALUES (?)", sinkId);
    this.ids = [...this.ids, sinkId];
    return { ok: true };
  }

  /** True if the sink was linked. */
  remove(sinkId: string): boolean {
    if (!this.ids.includes(sinkId)) return false;
    this.repo.write("DELETE FROM sink_links WHERE sink_id = ?", sinkId);
    this.ids = this.ids.filter((id) => id !== sinkId);
    return true;
  }

  /** Run inside the transaction that wipes the stream: the sinks go with it (see calls.ts). */
  clear(): void {
    this.repo.write("DELETE FROM sink_links");
    this.ids = [];
    this.notifier.cleared();
  }

  /** Call after a commit to the stream. */
  published(meta: StreamMeta): void {
    if (this.ids.length > 0) this.notifier.published(meta);
  }

  recheck(meta: StreamMeta | null): Promise<void> {
    return this.notifier.recheck(meta);
  }

  /** Tells every sink the tail; false if any call failed (the safety net then repeats it). */
  private async notify(meta: StreamMeta): Promise<boolean> {
    const notice = { source: meta.name, generation: meta.generation, tail: meta.tail };
    const outcomes = await mapLimit([...this.ids], NOTIFY_CONCURRENCY, async (sinkId) => {
      try {
        await sinkStub(this.env, sinkObjectName(meta.name, sinkId)).sourceAdvanced(notice);
        return true;
      } catch (error) {
        console.warn(`telling sink ${sinkId} about ${meta.name} failed; the alarm will retry`, error);
        return false;
      }
    });
    return outcomes.every(Boolean);
  }
}
