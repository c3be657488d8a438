// The source side of fan-out: after each commit to a stream with subscribers, tell its subscribers
// object how far the stream now reaches, through the after-commit notifier every follower of a stream
// uses (waitUntil plus a safety-net alarm), so the append is never slowed or failed by it.
import { CARRY_BYTES, type Publish } from "../contract/fanout";
import type { Env } from "../env";
import { fanoutStub } from "../fanout/stub";
import { AfterCommitNotifier } from "./after-commit-notifier";
import type { Committed } from "./log";
import type { StreamMeta } from "./repository";

type Appended = NonNullable<Publish["appended"]>;

export class FanoutPublisher {
  private readonly notifier: AfterCommitNotifier<Appended>;

  constructor(
    private readonly env: Env,
    ctx: DurableObjectState,
    /** Re-plans the object's alarm once the safety net moved. */
    replan: () => void,
  ) {
    this.notifier = new AfterCommitNotifier<Appended>(ctx, replan, (meta, appended) => this.publish(meta.name, meta.tail, appended));
  }

  dueAt(): number | null {
    return this.notifier.dueAt();
  }

  /** Call after committing `committed` to a stream that has subscribers; a small append travels with the call. */
  published(meta: StreamMeta, committed: Committed): void {
    const carried = committed.messages.length > 0 && meta.tail - committed.from <= CARRY_BYTES;
    this.notifier.published(meta, carried ? { from: committed.from, messages: [...committed.messages] } : undefined);
  }

  /** On every alarm: publish the tail again if an append armed the safety net (idempotent and cheap). */
  recheck(meta: StreamMeta): Promise<void> {
    return this.notifier.recheck(meta.fanout ? meta : null);
  }

  /** Tells the subscribers object how far the stream now reaches; false if that call failed. */
  private async publish(name: string, tail: number, appended?: Appended): Promise<boolean> {
    try {
      await fanoutStub(this.env, name).publish({ source: name, tail, appended });
      return true;
    } catch (error) {
      console.warn(`publish to subscribers of ${name} failed; the alarm will retry`, error);
      return false;
    }
  }
}
