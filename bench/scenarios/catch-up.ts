// Scenario 3: catch-up read throughput of a 10,000-message JSON stream, read from -1 to the up-to-date empty page.
import { performance } from "node:perf_hooks";
import { startCpu, type CpuUsage } from "../cpu.ts";
import { Client, mapLimit } from "../load.ts";
import { meanCpu, type Figure, type ScenarioContext } from "../model.ts";
import { createStream, JSON_TYPE, readAll, streamPath } from "../protocol.ts";
import { spread } from "../stats.ts";
import { MESSAGE_BYTES } from "./appends.ts";

/**
 * The stream is built, untimed, by appending JSON arrays of this many messages; each array element
 * is stored as its own message (one row each in ours), so the read still walks 10,000 messages.
 * One append per message would take most of a quick run on local wrangler dev.
 */
const MESSAGES_PER_APPEND = 100;
const BUILD_CONCURRENCY = 4;
/** A round reads the stream at least this many times, however quick each read is. */
const MIN_READS_PER_ROUND = 3;

export async function catchUpReads(ctx: ScenarioContext): Promise<Figure[]> {
  const { profile, target } = ctx;
  const messages = profile.catchUpMessages;
  const client = new Client(target.baseUrl, BUILD_CONCURRENCY);
  try {
    const stream = `catch-up-${messages}`;
    const path = streamPath(stream);
    await createStream(client, stream, JSON_TYPE);
    ctx.log(`catch-up: appending ${messages} JSON messages of ${MESSAGE_BYTES} bytes`);
    const batches = Array.from({ length: Math.ceil(messages / MESSAGES_PER_APPEND) }, (_, batch) => batch);
    await mapLimit(batches, BUILD_CONCURRENCY, (batch) => {
      const count = Math.min(MESSAGES_PER_APPEND, messages - batch * MESSAGES_PER_APPEND);
      const body = `[${Array.from({ length: count }, (_, i) => jsonMessage(batch * MESSAGES_PER_APPEND + i)).join(",")}]`;
      return client.expectOk({ method: "POST", path, headers: { "content-type": JSON_TYPE }, body });
    });

    // Warm-up: one full read, which also checks that every message comes back once.
    const first = await readAll(client, path);
    const seen = first.pages.flatMap((page) => JSON.parse(page.toString("utf8")) as { i: number }[]);
    if (seen.length !== messages || new Set(seen.map((message) => message.i)).size !== messages) {
      throw new Error(`catch-up read returned ${seen.length} messages, expected ${messages} distinct ones`);
    }
    // Timed reads are checked by size only: parsing 1 MB per read would load the client, not the server.
    const expectedBytes = first.bytes;

    ctx.log("catch-up: reading");
    const pids = target.pids();
    const mbPerSecond: number[] = [];
    const messagesPerSecond: number[] = [];
    const cpu: CpuUsage[] = [];
    for (let round = 0; round < profile.rounds; round++) {
      const stopCpu = startCpu(pids);
      const started = performance.now();
      let reads = 0;
      let bytes = 0;
      while (reads < MIN_READS_PER_ROUND || performance.now() - started < profile.catchUpRoundMs) {
        const read = await readAll(client, path);
        if (read.bytes !== expectedBytes) throw new Error(`catch-up read returned ${read.bytes} bytes, expected ${expectedBytes}`);
        bytes += read.bytes;
        reads++;
      }
      const seconds = (performance.now() - started) / 1000;
      cpu.push(stopCpu());
      mbPerSecond.push(bytes / 1e6 / seconds);
      messagesPerSecond.push((reads * messages) / seconds);
    }
    const detail = { requestsPerFullRead: first.requests, bytesPerFullRead: first.bytes, messagesPerAppend: MESSAGES_PER_APPEND };
    const usage = meanCpu(cpu);
    return [
      { id: "catchup.mbps", label: `catch-up read of ${messages} messages: MB/s`, unit: "MB/s", better: "higher", value: spread(mbPerSecond), errors: 0, cpu: usage, detail },
      { id: "catchup.msgps", label: `catch-up read of ${messages} messages: messages/s`, unit: "/s", better: "higher", value: spread(messagesPerSecond), errors: 0 },
    ];
  } finally {
    await client.close();
  }
}

/** One JSON message of exactly MESSAGE_BYTES bytes. */
function jsonMessage(index: number): string {
  const bare = JSON.stringify({ i: index, pad: "" });
  return JSON.stringify({ i: index, pad: "x".repeat(MESSAGE_BYTES - bare.length) });
}
