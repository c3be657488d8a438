// Scenario 4: live delivery latency, from sending an append to a waiting long-poll, SSE or WebSocket reader receiving it.
import { performance } from "node:perf_hooks";
import { Client, payload, sleep } from "../load.ts";
import type { Figure, ScenarioContext } from "../model.ts";
import { createStream, nextOffset, SseReader, streamPath, TEXT } from "../protocol.ts";
import { latencyRound, latencySpread, type LatencyRound, type Spread } from "../stats.ts";
import { LiveSocket, wsUrl } from "../ws.ts";
import { MESSAGE_BYTES } from "./appends.ts";

/** Time for the reader's request to reach the server and park before the append is sent. */
const PARK_MS = 15;
const RECEIVE_TIMEOUT_MS = 5_000;
/** A WebSocket round waits this long for its close handshake before the next round opens another. */
const CLOSE_TIMEOUT_MS = 15_000;

interface Samples {
  rounds: LatencyRound[];
  /** Reader's receipt minus the append's own 2xx: the wake cost beyond the append path (may be negative). */
  afterAppend: LatencyRound[];
  errors: number;
  firstError: string | null;
}

/** One sample: a long-poll parked at the tail, then an append; ms from sending it to the reader's full answer. */
async function longPollSample(
  reader: Client,
  writer: Client,
  path: string,
  tail: string,
  tag: string,
): Promise<{ ms: number; afterAppendMs: number; tail: string }> {
  const read = reader.send({ method: "GET", path: `${path}?offset=${tail}&live=long-poll` });
  await sleep(PARK_MS);
  const sent = performance.now();
  const append = await writer.expectOk({ method: "POST", path, headers: { "content-type": TEXT }, body: payload(tag, MESSAGE_BYTES) });
  const answer = await read;
  if (answer.status !== 200 || !answer.body.toString("utf8").includes(tag)) {
    throw new Error(`long-poll answered ${answer.status} without the appended message`);
  }
  return { ms: answer.doneAt - sent, afterAppendMs: answer.doneAt - append.doneAt, tail: nextOffset(append.headers, `POST ${path}`) };
}

async function longPoll(ctx: ScenarioContext, reader: Client, writer: Client): Promise<Samples> {
  const stream = "live-long-poll";
  const path = streamPath(stream);
  let tail = await createStream(writer, stream, TEXT);
  const samples: Samples = { rounds: [], afterAppend: [], errors: 0, firstError: null };
  const { liveWarmupSamples, liveSamplesPerRound, rounds } = ctx.profile;
  for (let round = -1; round < rounds; round++) {
    const count = round < 0 ? liveWarmupSamples : liveSamplesPerRound;
    const latencies: number[] = [];
    const afterAppend: number[] = [];
    for (let i = 0; i < count; i++) {
      try {
        const sample = await longPollSample(reader, writer, path, tail, `lp-${round}-${i} `);
        latencies.push(sample.ms);
        afterAppend.push(sample.afterAppendMs);
        tail = sample.tail;
      } catch (error) {
        samples.errors++;
        samples.firstError ??= String(error);
        tail = nextOffset((await writer.expectOk({ method: "HEAD", path })).headers, `HEAD ${path}`);
      }
    }
    if (round >= 0) {
      samples.rounds.push(latencyRound(latencies));
      samples.afterAppend.push(latencyRound(afterAppend));
    }
  }
  return samples;
}

/** One SSE connection per round, opened at the tail; each append is timed until its data event arrives. */
async function sse(ctx: ScenarioContext, writer: Client): Promise<Samples> {
  const stream = "live-sse";
  const path = streamPath(stream);
  let tail = await createStream(writer, stream, TEXT);
  const samples: Samples = { rounds: [], afterAppend: [], errors: 0, firstError: null };
  const { liveWarmupSamples, liveSamplesPerRound, rounds } = ctx.profile;
  for (let round = -1; round < rounds; round++) {
    const count = round < 0 ? liveWarmupSamples : liveSamplesPerRound;
    const reader = new Client(ctx.target.baseUrl, 1);
    const response = await reader.pool.request({ method: "GET", path: `${path}?offset=${tail}&live=sse` });
    if (response.statusCode !== 200) throw new Error(`SSE at ${path} answered ${response.statusCode}`);
    const events = new SseReader(response.body);
    const latencies: number[] = [];
    const afterAppend: number[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const tag = `sse-${round}-${i} `;
        const sent = performance.now();
        const append = await writer.expectOk({ method: "POST", path, headers: { "content-type": TEXT }, body: payload(tag, MESSAGE_BYTES) });
        tail = nextOffset(append.headers, `POST ${path}`);
        try {
          let event = await events.next("data", RECEIVE_TIMEOUT_MS);
          while (!event.data.includes(tag)) event = await events.next("data", RECEIVE_TIMEOUT_MS);
          latencies.push(event.at - sent);
          afterAppend.push(event.at - append.doneAt);
        } catch (error) {
          samples.errors++;
          samples.firstError ??= String(error);
          break;
        }
      }
    } finally {
      response.body.destroy();
      await reader.close().catch(() => undefined);
    }
    if (round >= 0) {
      samples.rounds.push(latencyRound(latencies));
      samples.afterAppend.push(latencyRound(afterAppend));
    }
  }
  return samples;
}

/** One WebSocket (`?offset=<tail>&live=ws`) per round, like SSE: each append is timed until a frame holding it arrives. */
async function webSocket(ctx: ScenarioContext, writer: Client): Promise<Samples> {
  const stream = "live-ws";
  const path = streamPath(stream);
  let tail = await createStream(writer, stream, TEXT);
  const samples: Samples = { rounds: [], afterAppend: [], errors: 0, firstError: null };
  const { liveWarmupSamples, liveSamplesPerRound, rounds } = ctx.profile;
  for (let round = -1; round < rounds; round++) {
    const count = round < 0 ? liveWarmupSamples : liveSamplesPerRound;
    // The first frame comes at once (empty data at the tail): the socket is then registered.
    const { socket } = await LiveSocket.open(wsUrl(ctx.target.baseUrl, path, tail), RECEIVE_TIMEOUT_MS);
    const latencies: number[] = [];
    const afterAppend: number[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const tag = `ws-${round}-${i} `;
        const sent = performance.now();
        const append = await writer.expectOk({ method: "POST", path, headers: { "content-type": TEXT }, body: payload(tag, MESSAGE_BYTES) });
        tail = nextOffset(append.headers, `POST ${path}`);
        try {
          let received = await socket.next(RECEIVE_TIMEOUT_MS);
          while (typeof received.frame.data !== "string" || !received.frame.data.includes(tag)) received = await socket.next(RECEIVE_TIMEOUT_MS);
          latencies.push(received.at - sent);
          afterAppend.push(received.at - append.doneAt);
        } catch (error) {
          samples.errors++;
          samples.firstError ??= String(error);
          break;
        }
      }
    } finally {
      await socket.close(CLOSE_TIMEOUT_MS);
    }
    if (round >= 0) {
      samples.rounds.push(latencyRound(latencies));
      samples.afterAppend.push(latencyRound(afterAppend));
    }
  }
  return samples;
}

function figures(id: string, reader: string, samples: Samples): Figure[] {
  const label = `append sent -> ${reader}`;
  const latency = latencySpread(samples.rounds);
  const after = latencySpread(samples.afterAppend);
  const detail = { firstError: samples.firstError, samplesPerRound: latency.samplesPerRound };
  return [
    { id: `${id}.p50`, label: `${label} p50`, unit: "ms", better: "lower", value: latency.p50, errors: samples.errors, detail },
    { id: `${id}.p99`, label: `${label} p99`, unit: "ms", better: "lower", value: latency.p99, errors: samples.errors },
    { id: `${id}.after.p50`, label: `${reader} received minus the append's own 2xx, p50`, unit: "ms", better: "lower", value: after.p50, errors: samples.errors },
  ];
}

const NOT_APPLICABLE: Spread = { median: Number.NaN, min: Number.NaN, max: Number.NaN, rounds: [] };

/** The WebSocket rows on a server without WebSocket reads (the reference): shown as n/a. */
function notApplicable(id: string, reader: string, reason: string): Figure[] {
  return figures(id, reader, { rounds: [], afterAppend: [], errors: 0, firstError: null }).map((figure) => ({
    ...figure,
    value: NOT_APPLICABLE,
    detail: { notApplicable: reason },
  }));
}

export async function liveLatency(ctx: ScenarioContext): Promise<Figure[]> {
  const reader = new Client(ctx.target.baseUrl, 1);
  const writer = new Client(ctx.target.baseUrl, 1);
  try {
    ctx.log("live delivery: long-poll");
    const polled = await longPoll(ctx, reader, writer);
    ctx.log("live delivery: SSE");
    const streamed = await sse(ctx, writer);
    let ws: Figure[];
    if (ctx.target.key === "ours") {
      ctx.log("live delivery: WebSocket");
      // A failure here must not cost the long-poll and SSE rows already measured.
      ws = await webSocket(ctx, writer).then(
        (samples) => figures("live.ws", "WebSocket reader", samples),
        (error: unknown) => {
          ctx.log(`live delivery: WebSocket FAILED: ${String(error)}`);
          return figures("live.ws", "WebSocket reader", { rounds: [], afterAppend: [], errors: 1, firstError: String(error) });
        },
      );
    } else {
      ws = notApplicable("live.ws", "WebSocket reader", "the reference server has no WebSocket reads");
    }
    return [...figures("live.longpoll", "long-poll reader", polled), ...figures("live.sse", "SSE reader", streamed), ...ws];
  } finally {
    await reader.close();
    await writer.close();
  }
}
