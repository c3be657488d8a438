// Scenario "cold": catch-up of a range stored cold (R2 segments) against the same range stored hot
// (SQLite rows), MB/s. The hot copy is on the benchmark's own server (64 MiB threshold: it stays in
// SQLite); the cold copy on a second server started with a 1 MiB threshold, read once it moved.
import { performance } from "node:perf_hooks";
import { Client, sleep } from "../load.ts";
import type { Figure, ScenarioContext } from "../model.ts";
import { createStream, nextOffset, OCTET, streamPath } from "../protocol.ts";
import { startOursWith } from "../servers.ts";
import { spread } from "../stats.ts";

const MiB = 1024 * 1024;
/** 16 MiB: sixteen catch-up pages, each a whole cold segment. */
const STREAM_BYTES = 16 * MiB;
const APPEND_BYTES = 256 * 1024;
const OFFLOAD_WAIT_MS = 120_000;
const MIN_READS_PER_ROUND = 3;

async function build(client: Client, stream: string): Promise<string> {
  const path = streamPath(stream);
  await createStream(client, stream, OCTET);
  const chunk = new Uint8Array(APPEND_BYTES).map((_, i) => (i * 7) & 0xff);
  for (let written = 0; written < STREAM_BYTES; written += APPEND_BYTES) {
    await client.expectOk({ method: "POST", path, headers: { "content-type": OCTET }, body: chunk });
  }
  return path;
}

/**
 * Reads pages from position `from` until `bytes` were returned; the bytes read. Each read starts one
 * byte further on, so no page repeats and the Worker's page cache (which `wrangler dev` runs) never
 * answers: the figures are the storage's.
 */
let shift = 0;
async function readRange(client: Client, path: string, bytes: number): Promise<number> {
  let offset = `0000000000000000_${String(++shift).padStart(16, "0")}`;
  let read = 0;
  while (read < bytes - shift) {
    const reply = await client.expectOk({ method: "GET", path: `${path}?offset=${offset}` });
    if (reply.body.length === 0) throw new Error(`GET ${path} returned an empty page at ${offset}`);
    read += reply.body.length;
    offset = nextOffset(reply.headers, `GET ${path}`);
  }
  return read;
}

async function measure(ctx: ScenarioContext, client: Client, path: string, bytes: number): Promise<number[]> {
  await readRange(client, path, bytes); // warm-up
  const rounds: number[] = [];
  for (let round = 0; round < ctx.profile.rounds; round++) {
    const started = performance.now();
    let total = 0;
    for (let reads = 0; reads < MIN_READS_PER_ROUND || performance.now() - started < ctx.profile.catchUpRoundMs; reads++) {
      total += await readRange(client, path, bytes);
    }
    rounds.push(total / 1e6 / ((performance.now() - started) / 1000));
  }
  return rounds;
}

export async function coldCatchUp(ctx: ScenarioContext): Promise<Figure[]> {
  const coldServer = await startOursWith({ COLD_AFTER_BYTES: String(MiB) });
  const hotClient = new Client(ctx.target.baseUrl, 1);
  const coldClient = new Client(coldServer.baseUrl, 1);
  try {
    ctx.log(`cold: building two ${STREAM_BYTES / MiB} MiB streams`);
    const hotPath = await build(hotClient, "cold-bench-hot");
    const coldPath = await build(coldClient, "cold-bench-cold");
    const deadline = Date.now() + OFFLOAD_WAIT_MS;
    let coldBytes = 0;
    while (coldBytes < STREAM_BYTES - 2 * MiB) {
      if (Date.now() > deadline) throw new Error(`only ${coldBytes} bytes moved to R2 in ${OFFLOAD_WAIT_MS} ms`);
      await sleep(100);
      const head = await coldClient.expectOk({ method: "HEAD", path: coldPath });
      coldBytes = Number(head.headers["stream-cold-bytes"] ?? 0);
    }
    ctx.log(`cold: ${coldBytes} bytes in R2; reading that range from both`);
    const hot = await measure(ctx, hotClient, hotPath, coldBytes);
    const cold = await measure(ctx, coldClient, coldPath, coldBytes);
    const detail = { rangeBytes: coldBytes, pageBytes: MiB };
    return [
      { id: "cold.hot.mbps", label: `catch-up of a ${Math.round(coldBytes / MiB)} MiB range, hot (SQLite): MB/s`, unit: "MB/s", better: "higher", value: spread(hot), errors: 0, detail },
      { id: "cold.cold.mbps", label: `catch-up of the same range, cold (R2 segments): MB/s`, unit: "MB/s", better: "higher", value: spread(cold), errors: 0, detail },
    ];
  } finally {
    await hotClient.close();
    await coldClient.close();
    await coldServer.stop();
  }
}
