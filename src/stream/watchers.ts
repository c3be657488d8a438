// The stream side of subscriptions (reserved subscription APIs): the subscriptions watching this
// stream, and telling them about each append in waitUntil, so an append is never slowed or failed
// by them, with a safety-net alarm in case that call is lost. A stream nobody watches does nothing.
// Watchers are set when a subscription links the stream (`watch`) or when the stream's creation,
// registered with its project's registry, matches a subscription's glob (`register`).
import type { AppendedOutcome, Watcher } from "../contract/subscriptions";
import { projectStub, subscriptionStub, type Env } from "../env";
import { mapLimit } from "../map-limit";
import type { StreamRepository, StreamMeta } from "./repository";

/** After an append to a watched stream, the alarm tells the watchers again this much later. */
const SAFETY_NET_MS = 5_000;
/** Watchers told side by side. */
const NOTIFY_CONCURRENCY = 16;

export class StreamWatchers {
  private list: Watcher[] = [];
  private checkAt: number | null = null;

  constructor(
    private readonly env: Env,
    private readonly ctx: DurableObjectState,
    private readonly repo: StreamRepository,
    private readonly replan: () => void,
  ) {}

  load(): void {
    this.list = this.repo.watchers();
  }

  all(): readonly Watcher[] {
    return this.list;
  }

  dueAt(): number | null {
    return this.checkAt;
  }

  add(watcher: Watcher): void {
    this.repo.saveWatcher(watcher.subscription, watcher.incarnation);
    this.list = [...this.list.filter((w) => w.subscription !== watcher.subscription), watcher];
  }

  remove(watcher: Watcher): void {
    if (!this.list.some((w) => w.subscription === watcher.subscription && w.incarnation === watcher.incarnation)) return;
    this.repo.deleteWatcher(watcher.subscription, watcher.incarnation);
    this.list = this.list.filter((w) => w.subscription !== watcher.subscription);
  }

  /** The table was wiped with the stream's data. */
  cleared(): void {
    this.list = [];
    this.checkAt = null;
  }

  /** Call after a commit to the stream. */
  published(meta: StreamMeta): void {
    if (this.list.length === 0) return;
    const due = Date.now() + SAFETY_NET_MS;
    if (this.checkAt === null || this.checkAt > due) {
      this.checkAt = due;
      this.replan();
    }
    this.ctx.waitUntil(this.notify(meta));
  }

  /** On every alarm: tell the watchers the tail again (idempotent); keep the safety net if that failed. */
  async recheck(meta: StreamMeta | null): Promise<void> {
    if (this.checkAt === null) return;
    this.checkAt = null;
    if (meta && !(await this.notify(meta))) this.checkAt = Date.now() + SAFETY_NET_MS;
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
    if (!live()) return;
    const slash = stream.indexOf("/");
    const found = await projectStub(this.env, stream.slice(0, slash)).registerStream(stream.slice(slash + 1), generation);
    // Deleted (or re-created) while the registry answered: that deletion unregisters it.
    const meta = live();
    if (!meta || found.length === 0) return;
    for (const watcher of found) this.add(watcher);
    if (!(await this.notify(meta))) throw new Error(`could not tell the subscriptions watching ${stream}`);
  }

  /** Tells every watcher the tail; drops those that no longer watch. False if any call failed. */
  private async notify(meta: StreamMeta): Promise<boolean> {
    const outcomes = await mapLimit([...this.list], NOTIFY_CONCURRENCY, async (watcher) => {
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
        return false;
      }
    });
    return outcomes.every(Boolean);
  }
}
