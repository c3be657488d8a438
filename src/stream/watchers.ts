// The stream side of subscriptions (reserved subscription APIs): the subscriptions watching this
// stream, told about each append after it commits (after-commit-notifier.ts: in waitUntil, with a
// safety-net alarm). A stream nobody watches does nothing.
// Watchers are set when a subscription links the stream (`watch`) or when the stream's creation,
// registered with its project's registry, matches a subscription's glob (`register`).
import type { AppendedOutcome, Watcher } from "../contract/subscriptions";
import type { Env } from "../env";
import { projectStub } from "../projects/stub";
import { subscriptionStub } from "../subscriptions/stub";
import { mapLimit } from "../map-limit";
import { AfterCommitNotifier } from "./after-commit-notifier";
import type { StreamRepository, StreamMeta } from "./repository";

/** Watchers told side by side. */
const NOTIFY_CONCURRENCY = 16;
/**
 * Watchers told per invocation: a tenth of the platform's 10,000 subrequests (PLATFORM.md), the same
 * budget the subscription objects keep. A stream watched by more is told in turns: the rest from its
 * safety-net alarm, each alarm its own invocation with its own budget.
 */
export const WATCHER_CALLS_PER_INVOCATION = 1_000;

export class StreamWatchers {
  private list: Watcher[] = [];
  /** Watchers not yet told the latest tail (in memory: a new instance tells everyone again). */
  private untold: Watcher[] = [];
  /** Calls per invocation; replaceable so tests can set it small. */
  budget = WATCHER_CALLS_PER_INVOCATION;
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
    this.list = this.repo.watchers();
  }

  all(): readonly Watcher[] {
    return this.list;
  }

  dueAt(): number | null {
    return this.notifier.dueAt();
  }

  add(watcher: Watcher): void {
    this.repo.saveWatcher(watcher.subscription, watcher.incarnation);
    this.list = [...this.list.filter((w) => w.subscription !== watcher.subscription), watcher];
  }

  remove(watcher: Watcher): void {
    if (!this.list.some((w) => w.subscription === watcher.subscription && w.incarnation === watcher.incarnation)) return;
    this.repo.deleteWatcher(watcher.subscription, watcher.incarnation);
    this.list = this.list.filter((w) => w.subscription !== watcher.subscription);
    this.untold = this.untold.filter((w) => w.subscription !== watcher.subscription);
  }

  /** The table was wiped with the stream's data. */
  cleared(): void {
    this.list = [];
    this.untold = [];
    this.notifier.cleared();
  }

  /** Call after a commit to the stream: every watcher is to be told its new tail. */
  published(meta: StreamMeta): void {
    if (this.list.length === 0) return;
    this.untold = [...this.list];
    this.notifier.published(meta);
  }

  /** On every alarm: tell the watchers the tail again (idempotent); keep the safety net if that failed. */
  recheck(meta: StreamMeta | null): Promise<void> {
    return this.notifier.recheck(meta);
  }

  /**
   * Made through the outbox once the stream is created: records it in its project's registry and
   * starts telling the subscriptions whose globs match it. Throws (and is retried) until all were told.
   */
  async register(current: () => StreamMeta | null, stream: string, generation: number): Promise<void> {
    const live = () => {
      const meta = current();
      return meta && meta.status === "active" && meta.generation === generation ? meta : null;
    };
    const created = live();
    if (!created) return;
    const slash = stream.indexOf("/");
    // The kind goes with it, so the project's listing never needs to ask the stream.
    const kind = created.estuary ? "estuary" : "plain";
    const found = await projectStub(this.env, stream.slice(0, slash)).registerStream(stream.slice(slash + 1), generation, kind);
    // Deleted (or re-created) while the registry answered: that deletion unregisters it.
    const meta = live();
    if (!meta || found.length === 0) return;
    for (const watcher of found) this.add(watcher);
    if (!(await this.notify(meta))) throw new Error(`could not tell the subscriptions watching ${stream}`);
  }

  /**
   * Tells the next `budget` untold watchers the tail (a repeat with nobody untold tells everyone
   * again); drops those that no longer watch. False while some are untold or a call failed, which
   * keeps the safety net armed for the rest.
   */
  private async notify(meta: StreamMeta): Promise<boolean> {
    if (this.untold.length === 0) this.untold = [...this.list];
    const batch = this.untold.splice(0, this.budget);
    const outcomes = await mapLimit(batch, NOTIFY_CONCURRENCY, async (watcher) => {
      try {
        const outcome: AppendedOutcome = await subscriptionStub(this.env, watcher.subscription).streamAppended({
          stream: meta.name,
          incarnation: watcher.incarnation,
          tail: meta.tail,
        });
        if (outcome === "gone") this.remove(watcher);
        return true;
      } catch (error) {
        console.warn(`telling subscription ${watcher.subscription} about ${meta.name} failed; the alarm will retry`, error);
        this.untold.push(watcher);
        return false;
      }
    });
    return outcomes.every(Boolean) && this.untold.length === 0;
  }
}
