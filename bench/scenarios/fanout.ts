// Scenarios 5 and 6 (ours only): fan-out latency to N estuaries, sustained publishes at N = 200, and cost per delivered message.
import { performance } from "node:perf_hooks";
import type { FanoutCost } from "../../src/contract/fanout.ts";
import type { FanoutStatusBody } from "../../src/routes/estuary/schemas.ts";
import { startCpu, type CpuUsage } from "../cpu.ts";
import { Client, closedLoop, mapLimit, sleep } from "../load.ts";
import { meanCpu, type Figure, type ScenarioContext } from "../model.ts";
import { createStream, JSON_TYPE, nextOffset, PROJECT, readJsonMessages, streamPath } from "../protocol.ts";
import { percentile, sorted, spread, type Spread } from "../stats.ts";

/** Ours delivers inline up to this many subscribers and through the queue above (FANOUT_QUEUE_THRESHOLD). */
const INLINE_LIMIT = 200;
const SUBSCRIBE_CONCURRENCY = 32;
const VERIFY_CONCURRENCY = 16;
/**
 * Completion is seen by polling the status route. Inline rounds take tens of ms, so it is polled
 * often; queue rounds take seconds, and polling them as often would only add load to the one thread.
 */
const POLL_INLINE_MS = 2;
const POLL_QUEUE_MS = 10;
const SUSTAINED_SUBSCRIBERS = 200;
/** Each published message is one JSON value of about 100 bytes. */
const PAD = "x".repeat(60);


type FanoutStatus = FanoutStatusBody;

interface Observed {
  status: FanoutStatus;
  at: number;
}

async function status(client: Client, source: string): Promise<Observed> {
  const reply = await client.expectOk({ method: "GET", path: `/v1/estuary/subscribers/${PROJECT}/${source}` });
  return { status: JSON.parse(reply.body.toString("utf8")) as FanoutStatus, at: reply.doneAt };
}

interface Delivery {
  /** The source append itself: POST sent until its 2xx (waits behind an inline round on one thread). */
  postMs: number;
  /** POST 2xx until every estuary holds the message. */
  allMs: number;
  /** POST 2xx until the subscribers object had handed the range on (queue: jobs sent; inline: all delivered). */
  handedOnMs: number | null;
  /** POST 2xx until the first estuary delivery was counted. */
  firstMs: number | null;
}

/**
 * Waits until the fan-out has reached `tail` and `expectedDelivered` estuary messages are counted.
 * In queue mode the fanned-out offset moves when jobs are sent, not when they are delivered, so the
 * delivered-message counter is what says every estuary holds the message (estuaries count only
 * messages they newly apply, so re-deliveries cannot inflate it).
 */
async function waitDelivered(
  client: Client,
  source: string,
  tail: string,
  baselineDelivered: number,
  expectedDelivered: number,
  since: number,
  pollMs: number,
  timeoutMs: number,
): Promise<Omit<Delivery, "postMs">> {
  let handedOnMs: number | null = null;
  let firstMs: number | null = null;
  for (;;) {
    const { status: now, at } = await status(client, source);
    const reached = now.fannedOutOffset >= tail && now.fannedOutOffset === now.targetOffset;
    if (handedOnMs === null && reached) handedOnMs = at - since;
    if (firstMs === null && now.cost.messagesDelivered > baselineDelivered) firstMs = at - since;
    if (reached && now.pendingRepairs === 0 && now.cost.messagesDelivered >= expectedDelivered) {
      return { allMs: at - since, handedOnMs, firstMs };
    }
    if (at - since > timeoutMs) {
      throw new Error(
        `fan-out of ${source} not complete after ${timeoutMs} ms: delivered ${now.cost.messagesDelivered - baselineDelivered}` +
          ` of ${expectedDelivered - baselineDelivered}, fanned out ${now.fannedOutOffset}, target ${now.targetOffset}, repairs ${now.pendingRepairs}`,
      );
    }
    await sleep(pollMs);
  }
}

function message(source: string, seq: number): string {
  return JSON.stringify([{ source, seq, pad: PAD }]);
}

async function publish(client: Client, source: string, body: string): Promise<{ tail: string; at: number; ms: number }> {
  const reply = await client.expectOk({ method: "POST", path: streamPath(source), headers: { "content-type": JSON_TYPE }, body });
  return { tail: nextOffset(reply.headers, `POST ${source}`), at: reply.doneAt, ms: reply.ms };
}

export function costDelta(after: FanoutCost, before: FanoutCost): FanoutCost {
  const delta = { ...after };
  for (const key of Object.keys(after) as (keyof FanoutCost)[]) delta[key] = after[key] - before[key];
  return delta;
}

export interface SizeResult {
  requested: number;
  subscribed: number;
  /** True when subscribing stopped at the time budget before reaching `requested`. */
  bounded: boolean;
  mode: string;
  subscribeMs: number;
  publishes: number;
  delivered: Delivery[];
  failures: string[];
  cost: FanoutCost;
  cpu: CpuUsage;
  source: string;
  estuaries: string[];
}

/** Subscribes each estuary, stopping at the profile's time budget; returns those subscribed. */
async function subscribeAll(ctx: ScenarioContext, client: Client, source: string, estuaries: readonly string[]): Promise<string[]> {
  const deadline = performance.now() + ctx.profile.subscribeBudgetMs;
  const subscribed: string[] = [];
  await mapLimit(estuaries, SUBSCRIBE_CONCURRENCY, async (estuaryId) => {
    if (performance.now() > deadline) return;
    await client.expectOk({
      method: "POST",
      path: `/v1/estuary/subscribe/${PROJECT}/${source}`,
      headers: { "content-type": JSON_TYPE },
      body: JSON.stringify({ estuaryId }),
    });
    subscribed.push(estuaryId);
    if (subscribed.length % 1_000 === 0) ctx.log(`  ${subscribed.length} of ${estuaries.length} subscribed`);
  });
  return subscribed;
}

async function fanoutSize(ctx: ScenarioContext, client: Client, poller: Client, requested: number): Promise<SizeResult> {
  const source = `fan-${requested}`;
  await createStream(client, source, JSON_TYPE);
  const all = Array.from({ length: requested }, (_, index) => `${source}-e${index}`);
  ctx.log(`fan-out to ${requested}: subscribing`);
  const subscribeStarted = performance.now();
  const estuaries = await subscribeAll(ctx, client, source, all);
  const subscribeMs = performance.now() - subscribeStarted;
  const initial = await status(poller, source);
  const count = initial.status.subscribers;
  if (count !== estuaries.length) throw new Error(`${source} has ${count} subscribers, ${estuaries.length} were subscribed`);
  const pollMs = count > INLINE_LIMIT ? POLL_QUEUE_MS : POLL_INLINE_MS;
  const timeoutMs = ctx.profile.deliveryTimeoutMs;

  const delivered: Delivery[] = [];
  const failures: string[] = [];
  // One untimed publish: first deliveries open every estuary's object and SQLite file.
  let seq = 0;
  const warm = await publish(client, source, message(source, seq++));
  const baseline = initial.status.cost.messagesDelivered;
  try {
    await waitDelivered(poller, source, warm.tail, baseline, baseline + count, warm.at, pollMs, timeoutMs);
  } catch (error) {
    failures.push(`warm-up publish: ${String(error)}`);
  }

  ctx.log(`fan-out to ${count}: publishing`);
  const before = (await status(poller, source)).status.cost;
  let expected = before.messagesDelivered;
  const stopCpu = startCpu(ctx.target.pids());
  const publishes = failures.length > 0 ? 0 : ctx.profile.fanoutPublishes(requested);
  for (let i = 0; i < publishes; i++) {
    const baseline = expected;
    expected += count;
    const sent = await publish(client, source, message(source, seq++));
    try {
      const delivery = await waitDelivered(poller, source, sent.tail, baseline, expected, sent.at, pollMs, timeoutMs);
      delivered.push({ ...delivery, postMs: sent.ms });
    } catch (error) {
      failures.push(String(error));
      break;
    }
  }
  const cpu = stopCpu();
  const after = (await status(poller, source)).status;
  return {
    requested,
    subscribed: count,
    bounded: count < requested,
    mode: after.mode,
    subscribeMs,
    publishes: delivered.length,
    delivered,
    failures,
    cost: costDelta(after.cost, before),
    cpu,
    source,
    estuaries,
  };
}

export interface Sustained {
  publishesPerSecond: Spread;
  appendedPerRound: number[];
  /** After publishing stopped, how long until the last delivery was confirmed. */
  drainMs: number[];
  errors: number;
  cpu: CpuUsage[];
}

/** Publishes closed-loop for a while, then waits until all of it is in all 200 estuaries; rate = publishes / total time. */
async function sustained(ctx: ScenarioContext, poller: Client, source: string, subscribers: number): Promise<Sustained> {
  const { sustainedConcurrency: concurrency, sustainedMs, sustainedRounds } = ctx.profile;
  const client = new Client(ctx.target.baseUrl, concurrency);
  const rates: number[] = [];
  const result: Sustained = { publishesPerSecond: spread([]), appendedPerRound: [], drainMs: [], errors: 0, cpu: [] };
  const pids = ctx.target.pids();
  try {
    for (let round = 0; round < sustainedRounds; round++) {
      const before = (await status(poller, source)).status.cost.messagesDelivered;
      const stopCpu = startCpu(pids);
      const started = performance.now();
      const loop = await closedLoop({
        client,
        concurrency,
        durationMs: sustainedMs,
        request: (i) => ({ method: "POST", path: streamPath(source), headers: { "content-type": JSON_TYPE }, body: message(source, 1_000_000 * (round + 1) + i) }),
      });
      const tail = nextOffset((await poller.expectOk({ method: "HEAD", path: streamPath(source) })).headers, `HEAD ${source}`);
      const done = await waitDelivered(poller, source, tail, before, before + loop.completed * subscribers, started, POLL_INLINE_MS, ctx.profile.deliveryTimeoutMs);
      result.cpu.push(stopCpu());
      rates.push(loop.completed / (done.allMs / 1000));
      result.appendedPerRound.push(loop.completed);
      result.drainMs.push(done.allMs - loop.elapsedMs);
      result.errors += loop.errors;
    }
  } finally {
    await client.close();
  }
  result.publishesPerSecond = spread(rates);
  return result;
}

export interface Verification {
  source: string;
  estuaries: number;
  exact: number;
  /** Estuaries whose messages differ from the source's (missing, duplicated or reordered). */
  wrong: number;
  firstProblem: string | null;
  ms: number;
}

/** Outside the timed part: every estuary must hold exactly the source's messages, in order. */
async function verify(client: Client, source: string, estuaries: readonly string[]): Promise<Verification> {
  const started = performance.now();
  const expected = JSON.stringify(await readJsonMessages(client, streamPath(source)));
  let exact = 0;
  let firstProblem: string | null = null;
  await mapLimit(estuaries, VERIFY_CONCURRENCY, async (estuary) => {
    const actual = JSON.stringify(await readJsonMessages(client, streamPath(estuary)));
    if (actual === expected) exact++;
    else firstProblem ??= `${estuary}: ${actual.length} bytes of messages, the source has ${expected.length}`;
  });
  return { source, estuaries: estuaries.length, exact, wrong: estuaries.length - exact, firstProblem, ms: performance.now() - started };
}

export interface FanoutReport {
  figures: Figure[];
  setupFailures: string[];
  sizes: SizeResult[];
  sustained: Sustained | null;
  verifications: Verification[];
}

function sampleSpread(samples: readonly number[], p: number): Spread {
  const ordered = sorted(samples);
  return { median: percentile(ordered, p), min: ordered[0] ?? Number.NaN, max: ordered[ordered.length - 1] ?? Number.NaN, rounds: [...samples] };
}

function sizeFigures(size: SizeResult): Figure[] {
  const n = size.bounded ? `${size.subscribed} (bounded, of ${size.requested})` : `${size.requested}`;
  const all = size.delivered.map((delivery) => delivery.allMs);
  const fromSend = size.delivered.map((delivery) => delivery.postMs + delivery.allMs);
  const errors = size.failures.length;
  const detail = {
    mode: size.mode,
    subscribeMs: size.subscribeMs,
    publishes: size.publishes,
    postMs: size.delivered.map((delivery) => delivery.postMs),
    handedOnMs: size.delivered.map((delivery) => delivery.handedOnMs),
    firstDeliveryMs: size.delivered.map((delivery) => delivery.firstMs),
    failures: size.failures,
  };
  const figures: Figure[] = [
    { id: `fanout.n${size.requested}.p50`, label: `fan-out to ${n} (${size.mode}): all hold it, p50`, unit: "ms", better: "lower", value: sampleSpread(all, 50), spreadOf: "samples", errors, cpu: size.cpu, detail },
    { id: `fanout.n${size.requested}.p99`, label: `fan-out to ${n} (${size.mode}): all hold it, p99`, unit: "ms", better: "lower", value: sampleSpread(all, 99), spreadOf: "samples", errors },
    {
      id: `fanout.n${size.requested}.fromSend.p99`,
      label: `fan-out to ${n} (${size.mode}): counted from sending the POST, p99`,
      unit: "ms",
      better: "lower",
      value: sampleSpread(fromSend, 99),
      spreadOf: "samples",
      errors,
    },
  ];
  return figures;
}

function costFigures(size: SizeResult): Figure[] {
  const { cost, publishes } = size;
  const perMessage = (value: number) => (cost.messagesDelivered > 0 ? value / cost.messagesDelivered : Number.NaN);
  const single = (value: number): Spread => ({ median: value, min: value, max: value, rounds: [value] });
  const label = `cost at N = ${size.subscribed} (${size.mode})`;
  const detail = { ...cost, publishes };
  return [
    { id: `cost.n${size.requested}.rpcs`, label: `${label}: DO RPCs per delivered message`, unit: "", better: "lower", value: single(perMessage(cost.rpcs)), errors: 0, detail },
    { id: `cost.n${size.requested}.rows`, label: `${label}: SQLite rows written per delivered message`, unit: "", better: "lower", value: single(perMessage(cost.rowsWritten)), errors: 0 },
    { id: `cost.n${size.requested}.queue`, label: `${label}: queue messages per publish`, unit: "", better: "lower", value: single(publishes > 0 ? cost.queueMessages / publishes : Number.NaN), errors: 0 },
  ];
}

export async function fanout(ctx: ScenarioContext): Promise<FanoutReport> {
  const client = new Client(ctx.target.baseUrl, SUBSCRIBE_CONCURRENCY);
  const poller = new Client(ctx.target.baseUrl, 2);
  const report: FanoutReport = { figures: [], setupFailures: [], sizes: [], sustained: null, verifications: [] };
  try {
    for (const requested of ctx.profile.fanoutSizes) {
      let size: SizeResult;
      try {
        size = await fanoutSize(ctx, client, poller, requested);
      } catch (error) {
        // A size that cannot even be set up is reported; the other sizes and the checks still run.
        report.setupFailures.push(`N = ${requested}: ${String(error)}`);
        continue;
      }
      report.sizes.push(size);
      report.figures.push(...sizeFigures(size));
      if (requested === 200 || requested === 201) report.figures.push(...costFigures(size));
    }

    const base = report.sizes.find((size) => size.requested === SUSTAINED_SUBSCRIBERS && !size.bounded);
    if (base) {
      ctx.log(`fan-out: sustained publishes at N = ${SUSTAINED_SUBSCRIBERS}`);
      const result = await sustained(ctx, poller, base.source, base.subscribed).catch((error: unknown) => {
        report.setupFailures.push(`sustained publishes: ${String(error)}`);
        return null;
      });
      report.sustained = result;
    }
    if (report.sustained) {
      const result = report.sustained;
      report.figures.push({
        id: "fanout.sustained200",
        label: `sustained publishes/s at N = ${SUSTAINED_SUBSCRIBERS}, all delivered (concurrency ${ctx.profile.sustainedConcurrency})`,
        unit: "/s",
        better: "higher",
        value: result.publishesPerSecond,
        errors: result.errors,
        cpu: meanCpu(result.cpu),
        detail: { appendedPerRound: result.appendedPerRound, drainMs: result.drainMs },
      });
    }

    for (const size of report.sizes) {
      if (size.estuaries.length === 0) continue;
      ctx.log(`fan-out: verifying all ${size.estuaries.length} estuaries of ${size.source}`);
      report.verifications.push(await verify(client, size.source, size.estuaries));
    }
  } finally {
    await client.close();
    await poller.close();
  }
  return report;
}
