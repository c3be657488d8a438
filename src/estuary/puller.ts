// Pull on read: before an estuary answers a read, it brings itself up to date from every source that
// is not pushing to it. It first takes a hot lease from the source's subscribers object (from then
// on every round pushes to it), then pulls up to the position the lease answer names, so no message
// falls between the pull and the first push. A push and a pull racing for the same range apply it
// once: both go through the receiver, which applies a range only from the position it holds.
import { FANOUT_SLICE_BYTES, type Delivery, type DeliveryOutcome, type HotLeaseGrant, type PullReport } from "../contract/fanout";
import type { Env } from "../env";
import { fanoutStub } from "../fanout/stub";
import { streamStub } from "../stream/stub";
import { mapLimit } from "../map-limit";
import { gapOf } from "../contract/gaps";

/** A lease counts as pushing only until this fraction of it is left, so it is renewed before it ends. */
const RENEW_AT_FRACTION_LEFT = 0.25;
/** Sources pulled side by side by one read. */
const PULL_CONCURRENCY = 8;
/** Source reads one pull may make (each up to FANOUT_SLICE_BYTES); a longer backlog goes on next read. */
const MAX_PULL_STEPS = 8;

/** What the puller needs from the estuary it serves. */
export interface PullTarget {
  /** The estuary's name, or null when it is not an active estuary. */
  name(): string | null;
  /** The sources it is subscribed to. */
  sources(): readonly string[];
  /** How far `source` is applied, or undefined when not subscribed to it. */
  appliedFrom(source: string): number | undefined;
  /** Applies a range exactly once, as a push delivery would. */
  apply(delivery: Delivery): DeliveryOutcome;
}

export class EstuaryPuller {
  /** Per source: until when it pushes to this estuary (its lease, less the renewal margin). */
  private readonly pushedUntil = new Map<string, number>();
  private readonly pulling = new Map<string, Promise<void>>();

  constructor(
    private readonly env: Env,
    private readonly ctx: DurableObjectState,
    private readonly target: PullTarget,
  ) {}

  /** Reads the leases this estuary holds; call once the schema exists. */
  load(): void {
    this.pushedUntil.clear();
    const rows = this.ctx.storage.sql.exec<{ source: string; pushed_until: number }>("SELECT source, pushed_until FROM estuary_leases");
    for (const row of rows) this.pushedUntil.set(row.source, row.pushed_until);
  }

  /**
   * Before a read that may wait until `until`: pulls from every source whose push lease ends before
   * then. Costs nothing while every lease holds; otherwise one lease call per such source, plus a
   * source read when it has something new.
   */
  async refresh(until: number): Promise<void> {
    const due = this.target.sources().filter((source) => (this.pushedUntil.get(source) ?? 0) <= until);
    if (due.length > 0) await mapLimit(due, PULL_CONCURRENCY, (source) => this.pullOnce(source));
  }

  /** When the earliest lease needs renewing (an alarm task while live sockets read this estuary). */
  renewAt(): number | null {
    let at: number | null = null;
    for (const source of this.target.sources()) {
      const until = this.pushedUntil.get(source) ?? 0;
      if (at === null || until < at) at = until;
    }
    return at;
  }

  /** The estuary left `source`, or (without one) every source. */
  forget(source?: string): void {
    if (source === undefined) {
      this.pushedUntil.clear();
      this.ctx.storage.sql.exec("DELETE FROM estuary_leases");
      return;
    }
    this.pushedUntil.delete(source);
    this.ctx.storage.sql.exec("DELETE FROM estuary_leases WHERE source = ?", source);
  }

  /** One pull per source at a time: concurrent reads share it. */
  private pullOnce(source: string): Promise<void> {
    let pull = this.pulling.get(source);
    if (!pull) {
      pull = this.pull(source)
        .catch((error: unknown) => console.warn(`pulling ${source} into ${this.target.name()} failed; the read answers with what it has`, error))
        .finally(() => this.pulling.delete(source));
      this.pulling.set(source, pull);
    }
    return pull;
  }

  private async pull(source: string): Promise<void> {
    const estuary = this.target.name();
    if (estuary === null) return;
    const grant: HotLeaseGrant | null = await fanoutStub(this.env, source).hot({ source, estuary, applied: this.target.appliedFrom(source) });
    if (!grant) return; // Not subscribed (yet, or any more): nothing to pull, nothing pushes.
    const report: PullReport = { estuary, applied: 0, reads: 0, messages: 0, rowsWritten: 0 };
    let caughtUp = false;
    for (let step = 0; step < MAX_PULL_STEPS; step++) {
      const applied = this.target.appliedFrom(source);
      if (applied === undefined) return;
      if (applied >= grant.target) {
        caughtUp = true;
        break;
      }
      const slice = await streamStub(this.env, source).readSlice({ from: applied, limit: grant.target, maxBytes: FANOUT_SLICE_BYTES, stopAtAppendEnd: false });
      report.reads++;
      // Trimmed past the hold caps: the estuary jumps to the earliest offset over a gap, once.
      const gap = slice.ok ? null : gapOf(slice, applied);
      if (!slice.ok && !gap) break;
      const delivery: Delivery = slice.ok
        ? { source, from: applied, to: slice.next, segments: slice.segments }
        : { source, from: applied, to: gap?.to ?? applied, segments: [], gap: { messages: gap?.messages ?? null } };
      // A push may have applied part of this range meanwhile: the receiver then answers duplicate or
      // gap, and the next step reads on from where the estuary now is.
      const outcome = this.target.apply(delivery);
      if (outcome.status === "unsubscribed") return;
      if (outcome.status === "applied") {
        report.messages += outcome.messages;
        report.rowsWritten += outcome.rowsWritten;
      }
    }
    const applied = this.target.appliedFrom(source);
    if (applied === undefined) return;
    if (caughtUp) this.leased(source, grant.until);
    if (report.reads > 0) this.ctx.waitUntil(this.report(source, { ...report, applied }));
  }

  /** Kept in storage, so an estuary waking from hibernation with sockets open still renews in time. */
  private leased(source: string, until: number): void {
    const now = Date.now();
    const pushedUntil = until - Math.max(0, until - now) * RENEW_AT_FRACTION_LEFT;
    this.pushedUntil.set(source, pushedUntil);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO estuary_leases (source, pushed_until) VALUES (?, ?)", source, pushedUntil);
  }

  private async report(source: string, report: PullReport): Promise<void> {
    try {
      await fanoutStub(this.env, source).recordPull(report);
    } catch (error) {
      console.warn(`reporting a pull's cost to the subscribers of ${source} failed`, error);
    }
  }
}
