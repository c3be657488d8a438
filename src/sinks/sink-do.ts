// SinkDO: one data sink, a signed outbound webhook fed from one source stream, named
// `${source}#sink:${id}` (contract/sinks.ts). It keeps the sink's configuration, secret, delivered
// position, in-flight batch, retry state and last attempts in SQLite, and delivers from its one
// alarm (storage/alarm-planner.ts): read the source from the delivered position (read.ts), fix the
// batch's range, sign and POST it, and on failure try the same batch again later. Each sink is its
// own object, so a slow or failing receiver holds up nothing but itself.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { SinkNoticeSchema, type SinkNotice } from "../contract/sinks";
import { loadConfig } from "../config";
import type { Env } from "../env";
import { fanoutStub } from "../fanout/stub";
import { fail } from "../errors";
import { formatOffset } from "../protocol/offsets";
import { AlarmPlanner } from "../storage/alarm-planner";
import { LazySchema } from "../storage/migrations";
import { CreateSinkSchema, type CreateSink, type CreateSinkResult, type SinkDetail, type SinkView } from "./commands";
import { addGap } from "../contract/gaps";
import { buildBody, buildGapBody, type Body } from "./envelope";
import { postBatch, type Fetcher, type PostOutcome } from "./post";
import { readBatch, type ReadOutcome } from "./read";
import { SinkRepository, type InFlight, type SinkRecord } from "./repository";
import { nextDelayMs } from "./retry";
import { SINK_MIGRATIONS } from "./schema";
import { batchWebhookId, newSinkSecret } from "./signing";
import { sinkView } from "./view";

/** Batches one alarm delivers before handing over to the next alarm (due at once). */
const BATCHES_PER_ALARM = 16;

export class SinkDO extends DurableObject<Env> {
  private readonly schema: LazySchema;
  private readonly repo: SinkRepository;
  private readonly alarms: AlarmPlanner;
  private sink: SinkRecord | null = null;
  /** The source may hold data past the delivered position (a notice came, or a batch was cut short). */
  private pending = false;
  /** Makes the POSTs; replaceable so tests can stand in for receivers. */
  fetcher: Fetcher = (url, init) => fetch(url, init);

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.schema = new LazySchema(ctx.storage, SINK_MIGRATIONS);
    this.repo = new SinkRepository(ctx.storage.sql);
    this.alarms = new AlarmPlanner(ctx.storage, [() => this.dueAt()]);
    if (this.schema.exists) this.sink = this.repo.load();
  }

  /** Creates the sink, or confirms the same configuration (no new secret); another configuration is a conflict. */
  async create(input: CreateSink): Promise<CreateSinkResult> {
    const cmd = CreateSinkSchema.parse(input);
    const existing = this.sink;
    if (existing && existing.sourceGeneration === cmd.sourceGeneration) {
      if (JSON.stringify(existing.config) === JSON.stringify(cmd.config)) return { ok: true, created: false, view: await sinkView(existing), incarnation: existing.incarnation };
      return fail("conflict", `sink ${cmd.sinkId} exists with another configuration; delete it first`);
    }
    // A sink left from an earlier generation of the source (its removal still on the way) is replaced.
    this.schema.ensure();
    const sink: SinkRecord = {
      sinkId: cmd.sinkId,
      source: cmd.source,
      sourceGeneration: cmd.sourceGeneration,
      incarnation: crypto.randomUUID(),
      config: cmd.config,
      contentType: cmd.contentType,
      secret: newSinkSecret(),
      createdAt: Date.now(),
      delivered: cmd.position,
      batch: null,
      state: "active",
      failures: 0,
      failingSince: null,
      nextAttemptAt: null,
      lastError: null,
      attemptSeq: 0,
      gaps: null,
    };
    this.ctx.storage.transactionSync(() => {
      this.repo.wipe();
      this.repo.save(sink);
    });
    this.sink = sink;
    this.pending = true;
    this.alarms.plan();
    return { ok: true, created: true, view: await sinkView(sink), secret: sink.secret, incarnation: sink.incarnation };
  }

  /** From the source after a commit (and its safety-net alarm): it now reaches `tail`. */
  async sourceAdvanced(input: SinkNotice): Promise<void> {
    const notice = SinkNoticeSchema.parse(input);
    const sink = this.sink;
    if (!sink || sink.sourceGeneration !== notice.generation || notice.tail <= sink.delivered) return;
    this.pending = true;
    this.alarms.plan();
  }

  /** Resumes a disabled (or retrying) sink at once, from its delivered position. Null if there is none. */
  async enable(): Promise<SinkView | null> {
    const sink = this.sink;
    if (!sink) return null;
    const resumed: SinkRecord = { ...sink, state: "active", failures: 0, failingSince: null, nextAttemptAt: null };
    if (sink.state !== "active") console.info(`${label(sink)} enabled again (was ${sink.state}), delivering from its delivered position`);
    this.repo.save(resumed);
    this.sink = resumed;
    this.pending = true;
    this.alarms.plan();
    return await sinkView(resumed);
  }

  /** The sink's state, or null if there is none. */
  async state(): Promise<SinkView | null> {
    return this.sink && (await sinkView(this.sink));
  }

  /** The sink's state and its last attempts, newest first. */
  async detail(): Promise<SinkDetail | null> {
    const sink = this.sink;
    if (!sink) return null;
    const view = await sinkView(sink);
    const attempts = this.repo.attempts().map((attempt) => ({
      at: new Date(attempt.at).toISOString(),
      webhookId: attempt.webhookId,
      fromOffset: formatOffset(attempt.from),
      toOffset: formatOffset(attempt.to),
      status: attempt.status,
      latencyMs: attempt.latencyMs,
      error: attempt.error,
    }));
    return { ...view, attempts };
  }

  /** Deletes the sink with its secret and state. True if there was one. */
  async remove(): Promise<boolean> {
    if (!this.sink) return false;
    this.wipe();
    return true;
  }

  /** The source (this generation of it) was deleted: the sink goes with it. */
  async sourceDeleted(generation: number): Promise<void> {
    if (this.sink && this.sink.sourceGeneration === z.number().int().parse(generation)) this.wipe();
  }

  override async alarm(): Promise<void> {
    this.alarms.fired();
    // An alarm may have been planned for a notice this instance never saw (it was evicted since):
    // look at the source once rather than miss it.
    this.pending = true;
    for (let batches = 0; batches < BATCHES_PER_ALARM; batches++) {
      if (!(await this.deliverNext())) break;
    }
    this.alarms.plan();
  }

  // --- internals -------------------------------------------------------------------------------

  private dueAt(): number | null {
    const sink = this.sink;
    if (!sink || sink.state === "disabled") return null;
    if (sink.nextAttemptAt !== null) return sink.nextAttemptAt;
    return sink.batch || this.pending ? Date.now() : null;
  }

  /** Delivers (or tries) one batch if one is due; true if another may follow at once. */
  private async deliverNext(): Promise<boolean> {
    const sink = this.sink;
    const now = Date.now();
    if (!sink || sink.state === "disabled" || (sink.nextAttemptAt !== null && sink.nextAttemptAt > now)) return false;
    if (!sink.batch && !this.pending) return false;
    // A gap in flight is sent as it was fixed: the source is not read again for it.
    if (sink.batch?.gap) return this.send(sink, sink.batch, buildGapBody(sink, sink.batch));
    const read = await readBatch(this.env, sink).catch((error: unknown): ReadOutcome => ({ ok: false, gone: false, message: error instanceof Error ? error.message : String(error) }));
    // Removed, re-created or resumed while reading: that change decides what happens next.
    if (this.sink !== sink) return false;
    if (!read.ok && read.gone) {
      // The source this sink was made for was deleted (and maybe created again under its name): the
      // sink goes with it, as the source's own call to remove it would do, and sends nothing more.
      console.warn(`${label(sink)} removed: generation ${sink.sourceGeneration} of its source is gone (${read.message})`);
      this.wipe();
      return false;
    }
    if (!read.ok) {
      // The source could not be read (never the receiver's fault): try again later, like a failure.
      this.settle(sink, sink.batch ?? { from: sink.delivered, to: sink.delivered, readAt: now }, "", failure(`reading the source failed: ${read.message}`), now);
      return false;
    }
    if ("gap" in read) {
      // Trimmed past the hold caps: the sink jumps to the earliest offset, telling its receiver once (with retries).
      const gap: InFlight = { from: sink.batch?.from ?? sink.delivered, to: read.gap.to, readAt: now, gap: { messages: read.gap.messages } };
      this.sink = { ...sink, batch: gap };
      this.repo.save(this.sink);
      this.pending = true;
      return this.send(this.sink, gap, buildGapBody(this.sink, gap));
    }
    const batch = read.batch;
    if (!batch) {
      this.pending = false;
      return false;
    }
    let inFlight = sink.batch;
    if (!inFlight) {
      // Fixed before the first attempt: every retry sends this range, under this webhook-id.
      inFlight = { from: batch.from, to: batch.to, readAt: now };
      this.sink = { ...sink, batch: inFlight };
      this.repo.save(this.sink);
      if (batch.more) this.pending = true;
    }
    const current = this.sink;
    const body = buildBody({
      envelope: current.config.envelope,
      typePrefix: current.config.typePrefix,
      source: current.source,
      generation: current.sourceGeneration,
      contentType: current.contentType,
      readAt: inFlight.readAt,
      messages: batch.messages,
    });
    return this.send(current, inFlight, body);
  }

  /** POSTs the batch in flight (data or a gap notice) and settles the attempt; true if another may follow. */
  private async send(current: SinkRecord, inFlight: InFlight, body: Body): Promise<boolean> {
    const id = await batchWebhookId(current, inFlight);
    const outcome = await postBatch(this.fetcher, { url: current.config.url, secret: current.secret, webhookId: id, body: body.bytes, contentType: body.contentType });
    if (this.sink !== current) return false;
    this.settle(current, inFlight, id, outcome, Date.now());
    return outcome.ok;
  }

  /** Records an attempt's outcome: the delivered position moves on success; otherwise retry or disable. */
  private settle(sink: SinkRecord, batch: InFlight, id: string, outcome: PostOutcome, now: number): void {
    let next: SinkRecord;
    if (outcome.ok) {
      // Healthy again: lastError describes the sink's present trouble; past failures stay in its attempts.
      next = { ...sink, delivered: batch.to, batch: null, state: "active", failures: 0, failingSince: null, nextAttemptAt: null, lastError: null };
      // Counted as the receiver takes the notice, in the same row write as the jump: once.
      if (batch.gap) next.gaps = addGap(sink.gaps, { from: batch.from, to: batch.to, messages: batch.gap.messages, at: now });
    } else {
      const failures = sink.failures + 1;
      const failingSince = sink.failingSince ?? now;
      const error = { at: now, message: outcome.error ?? "failed" };
      const disableAfter = loadConfig(this.env).SINK_DISABLE_AFTER_MS;
      const gone = outcome.status === 410;
      if (gone || now - failingSince >= disableAfter) {
        const why = gone ? "the receiver answered 410 Gone" : `failing without a break for ${disableAfter} ms`;
        console.warn(`${label(sink)} disabled: ${why}; last error: ${error.message}`);
        next = { ...sink, state: "disabled", failures, failingSince, nextAttemptAt: null, lastError: { at: now, message: `disabled: ${why}; ${error.message}` } };
      } else {
        next = { ...sink, state: "retrying", failures, failingSince, nextAttemptAt: now + nextDelayMs(failures, outcome.retryAfterMs), lastError: error };
        // Said once as the trouble starts, not on every retry: the attempts keep each one.
        if (sink.state === "active") console.warn(`${label(sink)} failing, retrying with backoff: ${error.message}`);
      }
    }
    if (outcome.ok && sink.failures > 0) console.info(`${label(sink)} delivering again after ${sink.failures} failed attempts`);
    next.attemptSeq = sink.attemptSeq + 1;
    const attempt = { at: now, webhookId: id, from: batch.from, to: batch.to, status: outcome.status, latencyMs: outcome.latencyMs, error: outcome.error };
    this.ctx.storage.transactionSync(() => {
      this.repo.save(next);
      this.repo.saveAttempt(sink.attemptSeq, attempt);
    });
    this.sink = next;
    if (outcome.ok) this.ctx.waitUntil(this.reportDelivered(next));
  }

  /**
   * Tells the source's subscribers object how far the sink has delivered, for the commit policy. A
   * lost report only holds the committed offset back until the next batch's.
   */
  private async reportDelivered(sink: SinkRecord): Promise<void> {
    try {
      const { sinkId, incarnation, delivered: position } = sink;
      await fanoutStub(this.env, sink.source).sinkDelivered({ sinkId, incarnation, required: sink.config.required, position });
    } catch (error) {
      console.warn(`reporting ${label(sink)} to its commit policy failed`, error);
    }
  }

  private wipe(): void {
    this.repo.wipe();
    this.sink = null;
    this.pending = false;
    this.alarms.plan();
    void this.ctx.storage.deleteAlarm();
  }
}

/** How the log names a sink (one per source and id). */
function label(sink: SinkRecord): string {
  return `sink ${sink.sinkId} of ${sink.source}`;
}

function failure(message: string): PostOutcome {
  return { ok: false, status: null, latencyMs: 0, error: message.slice(0, 500), retryAfterMs: null };
}
