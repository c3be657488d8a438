// The sources an estuary is subscribed to and how far each is applied, kept in memory so that a
// delivery costs one SQLite row: the data itself, tagged with the position it applies (schema 4).
// Each source's envelope (schema 11) is kept beside it.
import type { AppliedPosition, StreamRepository } from "../stream/repository";
import type { SubscriptionEnvelope } from "./envelope";
import { EstuarySourcesStore } from "./sources-store";

/**
 * Tagged chunks written since a source's checkpoint are scanned when the object loads; a
 * checkpoint after this many deliveries bounds that scan at the price of one row per source.
 */
const CHECKPOINT_EVERY = 1_000;

export class EstuarySources {
  private readonly applied = new Map<string, number>();
  private envelopes = new Map<string, SubscriptionEnvelope>();
  private deliveriesSinceCheckpoint = 0;
  private readonly repo: EstuarySourcesStore;

  constructor(repo: StreamRepository) {
    this.repo = new EstuarySourcesStore(repo);
  }

  /** Reads the positions from storage; call once the schema exists. */
  load(): void {
    this.applied.clear();
    for (const { source, applied } of this.repo.appliedPositions()) this.applied.set(source, applied);
    this.envelopes = this.repo.sourceEnvelopes();
  }

  /** Source position applied so far, or undefined if not subscribed to `source`. */
  appliedFrom(source: string): number | undefined {
    return this.applied.get(source);
  }

  /** How `source`'s messages are written here: null for raw (also when not subscribed). */
  envelopeOf(source: string): SubscriptionEnvelope {
    return this.envelopes.get(source) ?? null;
  }

  names(): string[] {
    return [...this.applied.keys()];
  }

  get count(): number {
    return this.applied.size;
  }

  list(): AppliedPosition[] {
    return [...this.applied].map(([source, applied]) => ({ source, applied })).sort((a, b) => (a.source < b.source ? -1 : 1));
  }

  /**
   * Subscribes at `applied`. The checkpoint starts at the estuary's tail, so tagged chunks left by an
   * earlier subscription to the same source can never move the new one.
   */
  attach(source: string, applied: number, tail: number, envelope: SubscriptionEnvelope): void {
    this.repo.attachSource({ source, applied }, tail, envelope);
    this.applied.set(source, applied);
    this.envelopes.set(source, envelope);
  }

  remove(source: string): void {
    this.repo.removeSource(source);
    this.applied.delete(source);
    this.envelopes.delete(source);
  }

  /** Storage was wiped along with the stream. */
  clear(): void {
    this.applied.clear();
    this.envelopes.clear();
    this.deliveriesSinceCheckpoint = 0;
  }

  /**
   * A jump over a gap may write no chunk to carry its position (a raw subscription): its checkpoint
   * row does, written in the jump's transaction. Call delivered() after it commits.
   */
  checkpointJump(position: AppliedPosition, tail: number): void {
    this.repo.checkpointSource(position, tail);
  }

  /**
   * Call once the delivery's tagged chunks are committed; `tail` is the estuary's tail after them.
   * A checkpoint row is valid on its own (its position accounts for every chunk below its tail), so
   * it needs no transaction with the delivery.
   */
  delivered(position: AppliedPosition, tail: number): void {
    this.applied.set(position.source, position.applied);
    if (++this.deliveriesSinceCheckpoint < CHECKPOINT_EVERY) return;
    this.deliveriesSinceCheckpoint = 0;
    for (const [source, applied] of this.applied) this.repo.checkpointSource({ source, applied }, tail);
  }
}
