// Scenarios 1 and 2: closed-loop 100-byte appends to one stream (concurrency 1, 16, 64) and spread over 100 streams.
import { startCpu, type CpuUsage } from "../cpu.ts";
import { Client, closedLoop, mapLimit, payload, type LoopResult, type RequestSpec } from "../load.ts";
import { meanCpu, type Figure, type ScenarioContext } from "../model.ts";
import { createStream, OCTET, streamPath } from "../protocol.ts";
import { latencyRound, latencySpread, spread, type LatencyRound } from "../stats.ts";

export const MESSAGE_BYTES = 100;
const STREAM_COUNT = 100;

export interface Series {
  rates: number[];
  latencies: LatencyRound[];
  errors: number;
  firstError: string | null;
  cpu: CpuUsage[];
}

/** Warm-up, then `rounds` measured closed-loop rounds of the same workload. */
export async function measure(
  ctx: ScenarioContext,
  client: Client,
  concurrency: number,
  request: (i: number) => RequestSpec,
  accept?: (status: number) => boolean,
): Promise<Series> {
  const { profile, target } = ctx;
  await closedLoop({ client, concurrency, durationMs: profile.warmupMs, request, accept });
  const pids = target.pids();
  const series: Series = { rates: [], latencies: [], errors: 0, firstError: null, cpu: [] };
  for (let round = 0; round < profile.rounds; round++) {
    const stopCpu = startCpu(pids);
    const result: LoopResult = await closedLoop({ client, concurrency, durationMs: profile.roundMs, request, accept });
    series.cpu.push(stopCpu());
    series.rates.push(result.completed / (result.elapsedMs / 1000));
    series.latencies.push(latencyRound(result.latenciesMs));
    series.errors += result.errors;
    series.firstError ??= result.firstError;
  }
  return series;
}

/** Rate, p50 and p99 rows of one series; `noun` names what was counted ("appends", "requests"). */
export function figures(idPrefix: string, label: string, series: Series, noun = "appends"): Figure[] {
  const latency = latencySpread(series.latencies);
  const cpu = meanCpu(series.cpu);
  const detail = { firstError: series.firstError, samplesPerRound: latency.samplesPerRound };
  return [
    { id: `${idPrefix}.rate`, label: `${label}: ${noun}/s`, unit: "/s", better: "higher", value: spread(series.rates), errors: series.errors, cpu, detail },
    { id: `${idPrefix}.p50`, label: `${label}: ${noun.replace(/s$/, "")} p50`, unit: "ms", better: "lower", value: latency.p50, errors: series.errors },
    { id: `${idPrefix}.p99`, label: `${label}: ${noun.replace(/s$/, "")} p99`, unit: "ms", better: "lower", value: latency.p99, errors: series.errors },
  ];
}

function append(path: string, tag: string): RequestSpec {
  return { method: "POST", path, headers: { "content-type": OCTET }, body: payload(tag, MESSAGE_BYTES) };
}

export async function oneStreamAppends(ctx: ScenarioContext): Promise<Figure[]> {
  const all: Figure[] = [];
  for (const concurrency of ctx.profile.appendConcurrency) {
    const client = new Client(ctx.target.baseUrl, concurrency);
    try {
      const stream = `append-c${concurrency}`;
      await createStream(client, stream, OCTET);
      const path = streamPath(stream);
      ctx.log(`appends to one stream, concurrency ${concurrency}`);
      const series = await measure(ctx, client, concurrency, (i) => append(path, `c${concurrency}-${i} `));
      all.push(...figures(`append.c${concurrency}`, `1 stream, concurrency ${concurrency}`, series));
    } finally {
      await client.close();
    }
  }
  return all;
}

export async function manyStreamAppends(ctx: ScenarioContext): Promise<Figure[]> {
  const concurrency = ctx.profile.manyStreamsConcurrency;
  const client = new Client(ctx.target.baseUrl, concurrency);
  try {
    const streams = Array.from({ length: STREAM_COUNT }, (_, index) => `spread-${index}`);
    await mapLimit(streams, 16, (stream) => createStream(client, stream, OCTET));
    const paths = streams.map(streamPath);
    ctx.log(`appends over ${STREAM_COUNT} streams, concurrency ${concurrency}`);
    const series = await measure(ctx, client, concurrency, (i) => append(paths[i % STREAM_COUNT] ?? "", `s-${i} `));
    return figures("append.streams100", `${STREAM_COUNT} streams, concurrency ${concurrency}`, series);
  } finally {
    await client.close();
  }
}
