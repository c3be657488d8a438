// The source side of fan-out: after each commit to a stream with subscribers, tell its subscribers
// object how far the stream now reaches, in waitUntil, so the append is never slowed or failed by it.
import { CARRY_BYTES, type Publish } from "../contract/fanout";
import { subscribersStub, type Env } from "../env";
import type { Committed } from "./log";
import type { StreamMeta } from "./repository";

/**
 * After an append to a stream with subscribers, the alarm re-publishes the tail this much later, so
 * fan-out resumes even if the publish made in waitUntil was lost with the isolate.
 */
const SAFETY_NET_MS = 5_000;

export class FanoutPublisher {
  /** When the safety-net re-publish is due, if an append armed one (an alarm task). */
  private checkAt: number | null = null;

  constructor(
    private readonly env: Env,
    private readonly ctx: DurableObjectState,
    /** Re-plans the object's alarm once the safety net moved. */
    private readonly replan: () => void,
  ) {}

  dueAt(): number | null {
    return this.checkAt;
  }

  /** Call after committing `committed` to a stream that has subscribers. */
  published(meta: StreamMeta, committed: Committed): void {
    const due = Date.now() + SAFETY_NET_MS;
    if (this.checkAt === null || this.checkAt > due) {
      // Planned in the same output gate as the commit, so it is durable with it.
      this.checkAt = due;
      this.replan();
    }
    const carried = committed.messages.length > 0 && meta.tail - committed.from <= CARRY_BYTES;
    const appended = carried ? { from: committed.from, messages: [...committed.messages] } : undefined;
    this.ctx.waitUntil(this.publish(meta.name, meta.tail, appended));
  }

  /**
   * On every alarm (whichever task it was planned for): publish the tail again, which is idempotent
   * and cheap, and keep the safety net up if that failed.
   */
  async recheck(meta: StreamMeta): Promise<void> {
    this.checkAt = null;
    if (meta.fanout && !(await this.publish(meta.name, meta.tail))) this.checkAt = Date.now() + SAFETY_NET_MS;
  }

  /** Tells the subscribers object how far the stream now reaches; false if that call failed. */
  private async publish(name: string, tail: number, appended?: Publish["appended"]): Promise<boolean> {
    try {
      await subscribersStub(this.env, name).publish({ source: name, tail, appended });
      return true;
    } catch (error) {
      console.warn(`publish to subscribers of ${name} failed; the alarm will retry`, error);
      return false;
    }
  }
}
