// Scenario 8 (ours only): push to the hot, pull for the rest. For each size N a fresh wrangler dev
// with the production defaults (FANOUT_PULL_THRESHOLD, ESTUARY_HOT_MS) gets N subscribers of which
// 1% hold a WebSocket: publish -> every hot reader holds it, deliveries and rows written per publish,
// and the first read of a cold estuary after the publishes (its pull) against a second read.
// Push-to-all at the same N is the fan-out scenario (its server pushes to every subscriber):
// `npm run bench -- --targets=ours --scenarios=fanout,pull --fanout=10000` runs both.
import { performance } from "node:perf_hooks";
import type { FanoutCost } from "../../src/contract/fanout.ts";
import type { FanoutStatusBody } from "../../src/routes/estuary/schemas.ts";
import { Client, mapLimit, sleep } from "../load.ts";
import type { Figure, ScenarioContext } from "../model.ts";
import { createStream, JSON_TYPE, PROJECT, readJsonMessages, streamPath } from "../protocol.ts";
import { startOursDefaults } from "../servers.ts";
import { percentile, sorted, type Spread } from "../stats.ts";
import { LiveSocket, wsUrl } from "../ws.ts";
import { costDelta } from "./fanout.ts";

const HOT_FRACTION = 0.01;
const SUBSCRIBE_BATCH = 1_000;
const SUBSCRIBE_CONCURRENCY = 2;
const OPEN_CONCURRENCY = 50;
const PUBLISHES = 10;
const COLD_READS = 20;
/** Estuaries re-read at the end to check they hold exactly the source's messages. */
const VERIFY_SAMPLE = 500;
const WAIT_MS = 120_000;

interface PullSize {
  subscribers: number;
  hot: number;
  subscribeMs: number;
  /** POST sent until every hot socket holds the message, per publish. */
  hotMs: number[];
  cost: FanoutCost;
  coldFirstMs: number[];
  coldAgainMs: number[];
  verified: { sampled: number; exact: number };
  failures: string[];
}

async function status(client: Client, source: string): Promise<FanoutStatusBody> {
  const reply = await client.expectOk({ method: "GET", path: `/v1/estuary/subscribers/${PROJECT}/${source}` });
  return JSON.parse(reply.body.toString("utf8")) as FanoutStatusBody;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function pullSize(ctx: ScenarioContext, subscribers: number): Promise<PullSize> {
  const server = await startOursDefaults();
  const client = new Client(server.baseUrl, 16);
  const sockets: LiveSocket[] = [];
  const result: PullSize = { subscribers, hot: 0, subscribeMs: 0, hotMs: [], cost: {} as FanoutCost, coldFirstMs: [], coldAgainMs: [], verified: { sampled: 0, exact: 0 }, failures: [] };
  try {
    const source = `pull-${subscribers}`;
    await createStream(client, source, JSON_TYPE);
    const estuaries = Array.from({ length: subscribers }, (_, i) => `${source}-e${i}`);
    const started = performance.now();
    const batches = Array.from({ length: Math.ceil(subscribers / SUBSCRIBE_BATCH) }, (_, i) => estuaries.slice(i * SUBSCRIBE_BATCH, (i + 1) * SUBSCRIBE_BATCH));
    let done = 0;
    await mapLimit(batches, SUBSCRIBE_CONCURRENCY, async (estuaryIds) => {
      await client.expectOk({ method: "POST", path: `/v1/estuary/subscribe/${PROJECT}/${source}`, headers: { "content-type": JSON_TYPE }, body: JSON.stringify({ estuaryIds }) });
      done += estuaryIds.length;
      if (done % 10_000 === 0) ctx.log(`  ${done} of ${subscribers} subscribed`);
    });
    result.subscribeMs = performance.now() - started;

    // The hot 1%: one WebSocket each, counting arrivals of each numbered message.
    const hot = estuaries.slice(0, Math.max(1, Math.round(subscribers * HOT_FRACTION)));
    result.hot = hot.length;
    const holders = new Map<number, { count: number; last: number }>();
    await mapLimit(hot, OPEN_CONCURRENCY, async (estuary) => {
      const { socket } = await LiveSocket.open(wsUrl(server.baseUrl, streamPath(estuary), "now"), WAIT_MS);
      sockets.push(socket);
      socket.listen(({ frame, at }) => {
        for (const message of (frame.data as { seq: number }[] | undefined) ?? []) {
          const held = holders.get(message.seq) ?? { count: 0, last: 0 };
          holders.set(message.seq, { count: held.count + 1, last: Math.max(held.last, at) });
        }
      });
    });
    await until("every hot estuary to hold a lease", async () => (await status(client, source)).hot === hot.length);

    const publish = async (seq: number) => {
      const reply = await client.expectOk({ method: "POST", path: streamPath(source), headers: { "content-type": JSON_TYPE }, body: JSON.stringify([{ seq }]) });
      await until(`message ${seq} at every hot reader`, () => (holders.get(seq)?.count ?? 0) >= hot.length);
      // From sending the POST: sockets may hold the message before its response has been read.
      return (holders.get(seq)?.last ?? Number.NaN) - (reply.doneAt - reply.ms);
    };
    ctx.log(`pull at N = ${subscribers}: publishing`);
    await publish(0); // Untimed: first deliveries open each hot estuary's SQLite file.
    const before = (await status(client, source)).cost;
    for (let seq = 1; seq <= PUBLISHES; seq++) result.hotMs.push(await publish(seq));
    // Rows the subscribers object wrote are booked at its next save: one more publish books them.
    result.cost = costDelta((await status(client, source)).cost, before);

    ctx.log(`pull at N = ${subscribers}: cold reads`);
    for (const estuary of estuaries.slice(hot.length, hot.length + COLD_READS)) {
      const first = await client.expectOk({ method: "GET", path: `${streamPath(estuary)}?offset=-1` });
      const again = await client.expectOk({ method: "GET", path: `${streamPath(estuary)}?offset=-1` });
      result.coldFirstMs.push(first.ms);
      result.coldAgainMs.push(again.ms);
    }

    const expected = JSON.stringify(await readJsonMessages(client, streamPath(source)));
    const step = Math.max(1, Math.floor(subscribers / VERIFY_SAMPLE));
    const sample = estuaries.filter((_, i) => i % step === 0).slice(0, VERIFY_SAMPLE);
    const exact = await mapLimit(sample, 16, async (estuary) => JSON.stringify(await readJsonMessages(client, streamPath(estuary))) === expected);
    result.verified = { sampled: sample.length, exact: exact.filter(Boolean).length };
    if (result.verified.exact !== sample.length) result.failures.push(`${sample.length - result.verified.exact} of ${sample.length} sampled estuaries differ from the source`);
  } finally {
    await Promise.all(sockets.map((socket) => socket.close(1_000)));
    await client.close();
    await server.stop();
  }
  return result;
}

function samples(values: readonly number[], p: number): Spread {
  const ordered = sorted(values);
  return { median: percentile(ordered, p), min: ordered[0] ?? Number.NaN, max: ordered.at(-1) ?? Number.NaN, rounds: [...values] };
}

const single = (value: number): Spread => ({ median: value, min: value, max: value, rounds: [value] });

function figures(size: PullSize): Figure[] {
  const n = `N = ${size.subscribers}, ${size.hot} hot`;
  const id = `pull.n${size.subscribers}`;
  const errors = size.failures.length;
  const per = (value: number) => value / PUBLISHES;
  const rows = size.cost.rowsWritten + size.cost.subscriberRowsWritten;
  const added = size.coldFirstMs.map((ms, i) => ms - (size.coldAgainMs[i] ?? Number.NaN));
  const detail = { subscribeMs: size.subscribeMs, cost: size.cost, verified: size.verified, coldFirstMs: size.coldFirstMs, coldAgainMs: size.coldAgainMs, failures: size.failures };
  return [
    { id: `${id}.hot.p50`, label: `pull, ${n}: publish -> every hot reader holds it, p50`, unit: "ms", better: "lower", value: samples(size.hotMs, 50), spreadOf: "samples", errors, detail },
    { id: `${id}.hot.p99`, label: `pull, ${n}: publish -> every hot reader holds it, p99`, unit: "ms", better: "lower", value: samples(size.hotMs, 99), spreadOf: "samples", errors },
    { id: `${id}.deliveries`, label: `pull, ${n}: deliveries per publish`, unit: "", better: "lower", value: single(per(size.cost.messagesDelivered)), errors },
    { id: `${id}.rows`, label: `pull, ${n}: rows written per publish (estuaries + subscribers object)`, unit: "", better: "lower", value: single(per(rows)), errors },
    { id: `${id}.cold.added`, label: `pull, ${n}: first read of a cold estuary after ${PUBLISHES + 1} publishes, added over a second read, p50`, unit: "ms", better: "lower", value: samples(added, 50), spreadOf: "samples", errors },
  ];
}

export async function pullFanout(ctx: ScenarioContext): Promise<{ figures: Figure[]; failures: string[] }> {
  const report = { figures: [] as Figure[], failures: [] as string[] };
  for (const subscribers of ctx.profile.pullSizes) {
    try {
      const size = await pullSize(ctx, subscribers);
      report.figures.push(...figures(size));
      report.failures.push(...size.failures.map((failure) => `pull at N = ${subscribers}: ${failure}`));
    } catch (error) {
      report.failures.push(`pull at N = ${subscribers}: ${String(error)}`);
    }
  }
  return report;
}
