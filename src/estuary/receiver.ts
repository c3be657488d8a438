// The estuary side of a stream: which sources feed it, how far each is applied, and applying a
// delivery exactly once (the data and the position it brings the estuary to commit together).
import type { Delivery, DeliveryOutcome } from "../contract/fanout";
import type { Env } from "../env";
import { fail } from "../errors";
import { sameMediaType } from "../protocol/content-type";
import type { Committed, StreamLog } from "../stream/log";
import type { AttachResult, AttachSource } from "../stream/commands";
import type { AppliedPosition, StreamMeta } from "../stream/repository";
import { describeEnvelope, envelopeMessages, producedContentType, sameEnvelope, subscriptionEnvelope } from "./envelope";
import type { GapsView } from "../contract/gaps";
import { EstuaryGaps } from "./gaps";
import { planDelivery } from "./inbox";
import { EstuaryPuller } from "./puller";
import { EstuarySources } from "./sources";

/** One of an estuary's links to a source (an estuary subscription), as it describes them. */
export interface EstuaryLinkView extends AppliedPosition {
  envelope: "raw" | "cloudevents";
  typePrefix?: string;
  /** Gaps retention left in this subscription, if any. */
  gaps?: GapsView;
}

export class EstuaryReceiver {
  private readonly sources: EstuarySources;
  private readonly gaps: EstuaryGaps;
  private readonly puller: EstuaryPuller;

  constructor(
    private readonly log: StreamLog,
    env: Env,
    ctx: DurableObjectState,
    /** What a pull applied, for the stream to pass on (wake readers, chained fan-out). */
    onPulled: (committed: Committed | undefined) => void,
  ) {
    this.sources = new EstuarySources(log.repo);
    this.gaps = new EstuaryGaps(log.repo);
    this.puller = new EstuaryPuller(env, ctx, {
      name: () => (this.log.meta?.status === "active" && this.log.meta.estuary ? this.log.meta.name : null),
      sources: () => this.sources.names(),
      appliedFrom: (source) => this.sources.appliedFrom(source),
      apply: (delivery) => {
        const { outcome, committed } = this.deliver(delivery, Date.now());
        onPulled(committed);
        return outcome;
      },
    });
  }

  /** Reads the applied positions and leases; call once the schema exists. */
  load(): void {
    this.sources.load();
    this.puller.load();
  }

  /**
   * Before a read of this estuary that may wait until `until`: catches up from every source not
   * pushing to it for that long (estuary/puller.ts). Does nothing for other streams.
   */
  async pullBeforeRead(until: number): Promise<void> {
    if (this.log.meta?.estuary) await this.puller.refresh(until);
  }

  /** When a hot lease needs renewing, for an estuary with live sockets (an alarm task). */
  renewAt(): number | null {
    return this.log.meta?.estuary ? this.puller.renewAt() : null;
  }

  /** The content type an estuary made by this subscription gets. */
  contentTypeFor(req: AttachSource): string {
    return producedContentType(req.contentType, req.envelope);
  }

  /**
   * Subscribes this active estuary stream to `req.source` (idempotent with the same envelope). What
   * the subscription writes (the source's type, or JSON events) must be the estuary's content type.
   */
  attach(meta: StreamMeta, req: AttachSource, created: boolean): AttachResult {
    if (!meta.estuary) return fail("conflict", "a stream that is not an estuary already has this name");
    const envelope = subscriptionEnvelope(req.contentType, req.envelope);
    const applied = this.sources.appliedFrom(req.source);
    if (applied !== undefined && !sameEnvelope(this.sources.envelopeOf(req.source), envelope)) {
      const current = describeEnvelope(this.sources.envelopeOf(req.source));
      return fail("conflict", `the estuary is already subscribed to this stream with ${current}; unsubscribe first to change it`);
    }
    const produced = producedContentType(req.contentType, req.envelope);
    if (!sameMediaType(meta.contentType, produced)) {
      const what = req.envelope ? "CloudEvents are" : "the source's messages are";
      return fail("conflict", `estuary content type ${meta.contentType} differs from ${produced}, which ${what}`);
    }
    if (applied !== undefined) return { ok: true, created, attached: false, applied, generation: meta.generation };
    if (this.sources.count >= req.maxSources) {
      return fail("conflict", `an estuary may be subscribed to at most ${req.maxSources} streams`);
    }
    this.sources.attach(req.source, req.position, meta.tail, envelope);
    return { ok: true, created, attached: true, applied: req.position, generation: meta.generation };
  }

  detach(source: string): void {
    if (!this.log.schema.exists) return;
    this.sources.remove(source);
    this.gaps.remove(source);
    this.puller.forget(source);
  }

  /** The sources of an active estuary with how far each is applied and its envelope; null if this is not one. */
  list(): EstuaryLinkView[] | null {
    const meta = this.log.meta;
    if (!meta || meta.status !== "active" || !meta.estuary) return null;
    const gaps = this.gaps.all();
    return this.sources.list().map((position) => {
      const envelope = this.sources.envelopeOf(position.source);
      const gap = gaps.get(position.source);
      const link: EstuaryLinkView = envelope ? { ...position, envelope: "cloudevents", typePrefix: envelope.typePrefix } : { ...position, envelope: "raw" };
      return gap ? { ...link, gaps: gap } : link;
    });
  }

  /** The sources to leave when this stream goes away. */
  subscribedTo(): AppliedPosition[] {
    return this.log.meta?.estuary ? this.sources.list() : [];
  }

  /** The stream's storage was wiped. */
  clear(): void {
    this.sources.clear();
    this.puller.forget();
  }

  /** Applies a delivery exactly once; `committed` is what it wrote (for chained fan-out). */
  deliver(delivery: Delivery, now: number): { outcome: DeliveryOutcome; committed?: Committed } {
    const meta = this.log.meta;
    const live = this.log.status(now);
    if (!live.ok || !live.meta.estuary || live.meta.closed) {
      // The subscribers object drops the subscription on this answer; forget the source here too,
      // or a closed estuary would go on listing it (GET /v1/estuary, cycle checks).
      if (meta?.status === "active") this.detach(delivery.source);
      return { outcome: { ok: true, status: "unsubscribed", applied: 0 } };
    }
    const plan = planDelivery(this.sources.appliedFrom(delivery.source), delivery);
    if (plan.kind === "skip") return { outcome: plan.outcome };
    // Positions stay the source's: only the written messages change with the envelope.
    const messages = envelopeMessages(this.sources.envelopeOf(delivery.source), delivery, plan.messages, now);
    const position = { source: delivery.source, applied: delivery.to };
    const rowsBefore = this.log.repo.rowsWritten;
    const { gap } = delivery;
    const jump = gap
      ? (tail: number) => {
          this.sources.checkpointJump(position, tail);
          this.gaps.record(delivery.source, { from: delivery.from, to: delivery.to, messages: gap.messages, at: now });
        }
      : undefined;
    this.sources.delivered(position, this.log.commitDelivery(live.meta, messages, position, jump));
    const rowsWritten = this.log.repo.rowsWritten - rowsBefore;
    return {
      outcome: { ok: true, status: "applied", applied: delivery.to, messages: messages.length, rowsWritten },
      committed: { from: live.meta.tail, messages },
    };
  }
}
