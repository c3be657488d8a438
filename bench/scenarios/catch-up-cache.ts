// Scenario 3b: catch-up of a stream several pages long, read cold (just written) and warm (read
// before, so ours serves the pages that end before the tail from the Worker's cache: docs/page-cache.md).
import { performance } from "node:perf_hooks";
import { startCpu, type CpuUsage } from "../cpu.ts";
import { Client } from "../load.ts";
import { meanCpu, type Figure, type ScenarioContext } from "../model.ts";
import { createStream, OCTET, readAll, streamPath } from "../protocol.ts";
import { spread } from "../stats.ts";

/** At least 5 MB, so a read takes several pages (ours: up to 1 MiB each) and only the last is the tail page. */
const STREAM_BYTES = 6 * 1024 * 1024;
const APPEND_BYTES = 256 * 1024;
/** Warm reads per round: at least this many, for at least the round's catch-up time. */
const MIN_WARM_READS = 3;

export async function catchUpCached(ctx: ScenarioContext): Promise<Figure[]> {
  const { profile, target } = ctx;
  const client = new Client(target.baseUrl, 1);
  const cold: number[] = [];
  const warm: number[] = [];
  const cpu: CpuUsage[] = [];
  let requests = 0;
  try {
    ctx.log(`catch-up, cold and warm: ${profile.rounds} streams of ${STREAM_BYTES / 1024 / 1024} MiB`);
    const body = Buffer.alloc(APPEND_BYTES, 0x61);
    for (let round = 0; round < profile.rounds; round++) {
      // A fresh stream per round: its first read is cold everywhere.
      const stream = `catch-up-pages-${Date.now()}-${round}`;
      const path = streamPath(stream);
      await createStream(client, stream, OCTET);
      for (let written = 0; written < STREAM_BYTES; written += APPEND_BYTES) {
        await client.expectOk({ method: "POST", path, headers: { "content-type": OCTET }, body });
      }
      const coldStarted = performance.now();
      const first = await readAll(client, path);
      cold.push(first.bytes / 1e6 / ((performance.now() - coldStarted) / 1000));
      if (first.bytes !== STREAM_BYTES) throw new Error(`catch-up read returned ${first.bytes} bytes, expected ${STREAM_BYTES}`);
      requests = first.requests;
      const stopCpu = startCpu(target.pids());
      const started = performance.now();
      let bytes = 0;
      for (let reads = 0; reads < MIN_WARM_READS || performance.now() - started < profile.catchUpRoundMs; reads++) {
        const read = await readAll(client, path);
        if (read.bytes !== STREAM_BYTES) throw new Error(`warm catch-up read returned ${read.bytes} bytes, expected ${STREAM_BYTES}`);
        bytes += read.bytes;
      }
      warm.push(bytes / 1e6 / ((performance.now() - started) / 1000));
      cpu.push(stopCpu());
    }
  } finally {
    await client.close();
  }
  const detail = { bytesPerRead: STREAM_BYTES, requestsPerRead: requests, appendBytes: APPEND_BYTES };
  const label = `catch-up read of a ${STREAM_BYTES / 1024 / 1024} MiB stream (${requests} pages)`;
  return [
    { id: "catchup.pages.cold.mbps", label: `${label}, first read (cold): MB/s`, unit: "MB/s", better: "higher", value: spread(cold), errors: 0, detail },
    { id: "catchup.pages.warm.mbps", label: `${label}, read again (warm cache): MB/s`, unit: "MB/s", better: "higher", value: spread(warm), errors: 0, cpu: meanCpu(cpu), detail },
  ];
}
