// The objects that follow a stream's tail: its fan-out object (fanout-publisher.ts), the `__ds`
// subscriptions watching it (watchers.ts) and its data sinks (sink-links.ts). Each is told after
// every commit and again from the alarm's safety net (after-commit-notifier.ts); this module is
// the one place the stream does both for all three.
import type { Watcher } from "../contract/subscriptions";
import type { Env } from "../env";
import type { Failure } from "../errors";
import { FanoutPublisher } from "./fanout-publisher";
import type { Committed, Live } from "./log";
import type { StreamMeta, StreamRepository } from "./repository";
import { SinkLinks } from "./sink-links";
import { StreamWatchers } from "./watchers";

export class StreamFollowers {
  readonly publisher: FanoutPublisher;
  readonly watchers: StreamWatchers;
  readonly sinks: SinkLinks;

  constructor(env: Env, ctx: DurableObjectState, repo: StreamRepository, replan: () => void) {
    this.publisher = new FanoutPublisher(env, ctx, replan);
    this.watchers = new StreamWatchers(env, ctx, repo, replan);
    this.sinks = new SinkLinks(env, ctx, repo, replan);
  }

  load(): void {
    this.watchers.load();
    this.sinks.load();
  }

  /** A subscription links the stream (if it is live): told about every append from now on. */
  watch(current: Live, watcher: Watcher): { tail: number } | null {
    if (!current.ok) return null;
    this.watchers.add(watcher);
    return { tail: current.meta.tail };
  }

  /** A data sink starts following the stream (idempotent): its generation and tail, or why not. */
  linkSink(current: Live, sinkId: string): { ok: true; generation: number; tail: number } | Failure {
    if (!current.ok) return current;
    const linked = this.sinks.add(sinkId);
    return linked.ok ? { ok: true, generation: current.meta.generation, tail: current.meta.tail } : linked;
  }

  /** An alarm task: the earliest safety-net repeat any follower has armed. */
  dueAt(): number | null {
    const due = [this.publisher.dueAt(), this.watchers.dueAt(), this.sinks.dueAt()].filter((at): at is number => at !== null);
    return due.length === 0 ? null : Math.min(...due);
  }

  /** After a commit: every follower is told the new tail (in waitUntil; never slows the append). */
  published(meta: StreamMeta, committed: Committed): void {
    if (meta.fanout) this.publisher.published(meta, committed);
    this.watchers.published(meta);
    this.sinks.published(meta);
  }

  /** On every alarm: each follower repeats its call if a commit armed it (null: no active stream). */
  async recheck(meta: StreamMeta | null): Promise<void> {
    if (meta) await this.publisher.recheck(meta);
    await this.watchers.recheck(meta);
    await this.sinks.recheck(meta);
  }
}
