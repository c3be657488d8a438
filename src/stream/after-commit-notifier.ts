// Telling other objects about a stream's new tail after each commit, the way every follower of a
// stream needs it: the call is made in waitUntil, so an append is never slowed or failed by it, and a
// safety-net alarm repeats it in case that call is lost with the isolate. The calls must therefore be
// idempotent ("the stream now reaches `tail`"). Used by the fan-out publisher (fanout-publisher.ts),
// the subscriptions watching a stream (watchers.ts) and its data sinks (sink-links.ts).
import type { StreamMeta } from "./repository";

/** After a commit, the alarm tells the followers again this much later. */
export const SAFETY_NET_MS = 5_000;

export class AfterCommitNotifier<Extra = never> {
  /** When the safety-net repeat is due, if a commit armed one (an alarm task). */
  private checkAt: number | null = null;
  /**
   * The safety net's time is kept in memory, but the alarm it planned is durable: if the isolate died
   * with a call in flight, the alarm fires in a new instance that never saw the commit. So the first
   * alarm of every instance repeats the call as if it were armed (one idempotent call at most).
   */
  private freshInstance = true;

  constructor(
    private readonly ctx: DurableObjectState,
    /** Re-plans the object's alarm once the safety net moved. */
    private readonly replan: () => void,
    /** Tells every follower the stream's tail (with what the first call may carry); false if any call failed. */
    private readonly notify: (meta: StreamMeta, extra?: Extra) => Promise<boolean>,
  ) {}

  dueAt(): number | null {
    return this.checkAt;
  }

  /** Call after a commit to the stream, when it has followers. */
  published(meta: StreamMeta, extra?: Extra): void {
    const due = Date.now() + SAFETY_NET_MS;
    if (this.checkAt === null || this.checkAt > due) {
      // Planned in the same output gate as the commit, so it is durable with it.
      this.checkAt = due;
      this.replan();
    }
    this.ctx.waitUntil(this.notify(meta, extra));
  }

  /** On every alarm: tell the followers the tail again if a commit armed it; keep the safety net if that failed. */
  async recheck(meta: StreamMeta | null): Promise<void> {
    const armed = this.checkAt !== null || this.freshInstance;
    this.freshInstance = false;
    if (!armed) return;
    this.checkAt = null;
    if (meta && !(await this.notify(meta))) this.checkAt = Date.now() + SAFETY_NET_MS;
  }

  /** The followers were wiped with the stream's data. */
  cleared(): void {
    this.checkAt = null;
  }
}
