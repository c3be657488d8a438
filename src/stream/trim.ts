// Retention's trimming: a task of the object's alarm planner. Each run deletes, in one transaction
// with the move of the stream's earliest position (StreamLog.trim), a prefix of whole units the
// policy no longer keeps, ending at a message boundary, at most `rowsPerRun` units; more work makes
// the task due again at once. A unit is a cold segment (oldest first, before any hot row: its R2
// object is deleted through the outbox, written in the same transaction) or a stored row. Because
// only whole units go, a stream keeps up to one row (one append's worth, at most ROW_BYTES) or one
// segment (at most SEGMENT_BYTES of whole rows) more than its policy asks. Required subscribers
// (estuaries, data sinks: the lowest position the stream's fan-out object counts for them) hold
// the trim at their position, up to the caps of HoldCaps. Producer state lives in its own table and
// is never trimmed: a retry of a trimmed append is still a duplicate.
import type { StreamLog } from "./log";
import { info } from "./meta";
import type { StreamMeta } from "./repository";
import type { RetentionPolicy } from "../protocol/retention-policy";
import { TrimMarks } from "./trim-marks";
import { TrimStore, type TrimUnit } from "./trim-store";

/**
 * A burst of appends shares one trim: the first append after a trim makes the task due this long
 * after it. Each due time is one alarm (one row write), so a busy stream pays at most one per 5 s.
 */
export const TRIM_DELAY_MS = 5_000;

/** While a subscriber holds data the policy would trim, the hold is asked again this often. */
export const HOLD_RECHECK_MS = 60_000;

/** How far a hold may keep data the policy would trim (RETENTION_HOLD_MAX_MS, RETENTION_HOLD_MAX_BYTES). */
export interface HoldCaps {
  maxMs: number;
  maxBytes: number;
}

/**
 * The lowest position the stream's required subscribers hold (the tail when it has none), or null
 * when it could not be learnt (then only what is past the caps goes, and the run is retried).
 */
export type HoldLookup = (meta: StreamMeta) => Promise<number | null>;

/**
 * Runs inside a trim's transaction once rows below `cut` are gone: what must follow from the jump
 * (outbox rows for subscribers past whose position it went). `lost` counts the messages in
 * [from, cut) where the trim's marks know them.
 */
export type TrimFollowUp = (cut: number, lost: (from: number) => number | null) => void;

export interface TrimOutcome {
  /** Units (stored rows and cold segments) deleted by this run. */
  rows: number;
  /** Bytes of stream data they held. */
  bytes: number;
}

/** What this object's trims did since it started (the status route shows it; the benchmark reads it). */
export interface TrimTotals {
  runs: number;
  /** Stored rows and cold segments deleted. */
  rows: number;
  bytes: number;
  /**
   * Billed row writes of those runs: each deleted row or segment row, and the stream row that moves
   * the earliest offset (a segment's outbox row is written and deleted besides).
   */
  rowsWritten: number;
}

export interface RetentionStatus {
  ok: true;
  /** The canonical Stream-Retention value, or null. */
  policy: string | null;
  earliest: number;
  trimmed: TrimTotals;
}

export class Trimmer {
  readonly totals: TrimTotals = { runs: 0, rows: 0, bytes: 0, rowsWritten: 0 };
  private readonly store: TrimStore;
  private readonly marks: TrimMarks;
  /** A check is owed (appends since the last run, or a run that stopped at its budget); null when not. */
  private pendingAt: number | null = null;
  /** When the oldest kept row becomes too old; undefined until this instance has looked. */
  private ageDue: number | null | undefined;
  private generation = 0;

  constructor(
    private readonly log: StreamLog,
    /** Rows a run may delete (RETENTION_TRIM_ROWS): bounds each alarm's work and transaction. */
    private readonly rowsPerRun: number,
    private readonly caps: HoldCaps,
    /** One call per run at most: the hold of the stream's subscribers. */
    private readonly holdOf: HoldLookup,
    /** Owes R2 the deletion of dropped segments' objects; called inside the trim's transaction. */
    private readonly deleteObjects: (keys: readonly string[]) => void,
    /** Tells the subscriptions a trim passed (their acked offsets jump); called inside the trim's transaction. */
    private readonly followUp: TrimFollowUp = () => undefined,
  ) {
    this.store = new TrimStore(log.repo);
    this.marks = new TrimMarks(log.repo);
  }

  status(meta: StreamMeta): RetentionStatus {
    const { retention, earliest } = info(meta);
    return { ok: true, policy: retention, earliest, trimmed: { ...this.totals } };
  }

  /** The alarm task: when the next trim is due, or null for a stream without a policy. */
  dueAt(): number | null {
    const meta = this.policyMeta();
    if (!meta) return null;
    if (this.ageDue === undefined) this.lookAfterStart(meta, meta.retention);
    const due = [this.pendingAt, this.ageDue ?? null].filter((at): at is number => at !== null);
    return due.length === 0 ? null : Math.min(...due);
  }

  /**
   * After each commit: the stream grew, so a trim may be owed. True when the due time moved (plan the
   * alarm). Each planned alarm is a row write, so a byte bound the stream is still under, or an age
   * bound whose oldest row is already scheduled, plans nothing: an estuary under its default policy
   * costs no more per delivery than before.
   */
  appended(now: number): boolean {
    const meta = this.policyMeta();
    if (!meta) return false;
    const { maxBytes, maxMessages } = meta.retention;
    const ownStart = Math.max(meta.earliest, meta.forkPosition ?? 0);
    const owed = maxMessages !== undefined || (maxBytes !== undefined && meta.tail - ownStart > maxBytes);
    let moved = false;
    if (owed && this.pendingAt === null) {
      this.pendingAt = now + TRIM_DELAY_MS;
      moved = true;
    }
    if (this.ageDue === null && meta.retention.maxAgeSeconds !== undefined) {
      this.ageDue = now + meta.retention.maxAgeSeconds * 1000;
      moved = true;
    }
    return moved;
  }

  /** One bounded step of trimming (called by the alarm, whatever is due). */
  async run(now: number): Promise<TrimOutcome> {
    this.pendingAt = null;
    const asked = this.policyMeta();
    if (!asked) return { rows: 0, bytes: 0 };
    const hold = await this.holdOf(asked).catch((error: unknown) => {
      console.warn(`retention of ${asked.name}: the subscribers' hold could not be read; trimming only past the caps`, error);
      return null;
    });
    // Read after the call: appends meanwhile only added rows at the tail.
    const meta = this.policyMeta();
    if (!meta) return { rows: 0, bytes: 0 };
    const policy = meta.retention;
    const byPolicy = this.expendableRule(meta, policy, now);
    const forced = (unit: TrimUnit) => unit.appendedAt <= now - this.caps.maxMs || unit.end <= meta.tail - this.caps.maxBytes;
    let held = false;
    const expendable = (unit: TrimUnit) => {
      if (!byPolicy(unit)) return false;
      if ((hold !== null && unit.end <= hold) || forced(unit)) return true;
      held = true;
      return false;
    };
    let cut = meta.earliest;
    let deleted = 0;
    let scanned = 0;
    let first: TrimUnit | undefined;
    let firstKept: TrimUnit | undefined;
    const seen: TrimUnit[] = [];
    for (const unit of this.store.oldest(this.rowsPerRun)) {
      scanned++;
      seen.push(unit);
      first ??= unit;
      if (!expendable(unit)) {
        firstKept = unit;
        break;
      }
      // Only a message boundary may become the earliest position: a reader starts between messages.
      if (unit.messageEnd) {
        cut = unit.end;
        deleted = scanned;
      }
    }
    let outcome: TrimOutcome = { rows: 0, bytes: 0 };
    if (cut > meta.earliest) {
      const firstStart = first?.start ?? meta.earliest;
      const written = this.log.repo.rowsWritten;
      this.log.trim(cut, () => {
        this.marks.record(meta.earliest, cut, seen, hold);
        this.deleteObjects(this.store.deleteBelow(cut));
        this.followUp(cut, (from) => this.marks.lost(from, cut));
      });
      outcome = { rows: deleted, bytes: cut - firstStart };
      this.totals.runs++;
      this.totals.rows += outcome.rows;
      this.totals.bytes += outcome.bytes;
      this.totals.rowsWritten += this.log.repo.rowsWritten - written;
    }
    // Every unit read was expendable and the budget was used up: the next step is due at once.
    if (firstKept === undefined && scanned === this.rowsPerRun) this.pendingAt = now;
    // A subscriber holds what the policy would trim (or its hold is unknown): ask again later.
    else if (held || hold === null) this.pendingAt = now + HOLD_RECHECK_MS;
    const oldestKept = firstKept ?? (cut > meta.earliest ? undefined : first);
    this.ageDue = policy.maxAgeSeconds !== undefined && oldestKept ? oldestKept.appendedAt + policy.maxAgeSeconds * 1000 : null;
    // A held row is past its age already: the hold's recheck (pendingAt) wakes the next run, not its age.
    if (this.ageDue !== null && this.ageDue <= now) this.ageDue = null;
    return outcome;
  }

  /** Whether the policy lets a unit go: too old, entirely below the byte bound, or before the newest max-messages. */
  private expendableRule(meta: StreamMeta, policy: RetentionPolicy, now: number): (unit: TrimUnit) => boolean {
    const bytesCut = policy.maxBytes !== undefined ? meta.tail - policy.maxBytes : Number.NEGATIVE_INFINITY;
    const ageCut = policy.maxAgeSeconds !== undefined ? now - policy.maxAgeSeconds * 1000 : Number.NEGATIVE_INFINITY;
    const keepFrom = policy.maxMessages !== undefined ? this.store.keepMessagesFrom(policy.maxMessages) : null;
    const messagesCut = keepFrom ?? Number.NEGATIVE_INFINITY;
    return (unit) => unit.end <= bytesCut || unit.appendedAt <= ageCut || unit.end <= messagesCut;
  }

  /**
   * A new instance knows nothing of appends its predecessor had not trimmed for yet: the age bound
   * is read from the oldest row, a byte bound checked against it, and a message bound (which
   * would need a walk) makes one run owed.
   */
  private lookAfterStart(meta: StreamMeta, policy: RetentionPolicy): void {
    const [oldest] = this.store.oldest(1);
    this.ageDue = policy.maxAgeSeconds !== undefined && oldest ? oldest.appendedAt + policy.maxAgeSeconds * 1000 : null;
    const overBytes = policy.maxBytes !== undefined && oldest !== undefined && oldest.end <= meta.tail - policy.maxBytes;
    const maybeOverCount = policy.maxMessages !== undefined && oldest !== undefined;
    if (this.pendingAt === null && (overBytes || maybeOverCount)) this.pendingAt = Date.now() + TRIM_DELAY_MS;
  }

  private policyMeta(): (StreamMeta & { retention: RetentionPolicy }) | null {
    const meta = this.log.meta;
    if (meta && meta.generation !== this.generation) {
      // Created again, maybe with another policy: what this instance knew was about the old one.
      this.generation = meta.generation;
      this.pendingAt = null;
      this.ageDue = undefined;
    }
    if (!meta || meta.status !== "active" || meta.retention === null) return null;
    return meta as StreamMeta & { retention: RetentionPolicy };
  }
}
