// Scenario: what a retention trim costs, as billed SQLite row writes per MiB trimmed, for three
// shapes of append (the rows a stream stores decide it). Each round fills a stream with
// `max-bytes=1`, waits for its alarm's trims to catch up, and reads the trims' own count of row
// writes from the status route (GET /v1/estuary/subscribers/...: retention.trimmed).
import { performance } from "node:perf_hooks";
import { Client, mapLimit, sleep } from "../load.ts";
import type { Figure, ScenarioContext } from "../model.ts";
import { JSON_TYPE, PROJECT, streamPath, TEXT } from "../protocol.ts";
import { spread } from "../stats.ts";

const MiB = 1024 * 1024;
const APPEND_CONCURRENCY = 8;
/** Trims run about 5 s after the first append since the last (TRIM_DELAY_MS), then in steps at once. */
const SETTLE_TIMEOUT_MS = 60_000;
const POLL_MS = 200;

interface Shape {
  id: string;
  label: string;
  contentType: string;
  /** One append's body. */
  body: string;
  /** Bytes one append stores. */
  bytes: number;
}

const SHAPES: readonly Shape[] = [
  { id: "1k", label: "one 1 KiB message per append", contentType: TEXT, body: "x".repeat(1024), bytes: 1024 },
  {
    id: "batch100",
    label: "100 JSON messages of ~100 B per append",
    contentType: JSON_TYPE,
    body: `[${Array.from({ length: 100 }, () => JSON.stringify({ v: "y".repeat(92) })).join(",")}]`,
    bytes: 100 * JSON.stringify({ v: "y".repeat(92) }).length,
  },
  { id: "1m", label: "1 MiB per append", contentType: TEXT, body: "z".repeat(MiB), bytes: MiB },
];

interface Trimmed {
  runs: number;
  rows: number;
  bytes: number;
  rowsWritten: number;
}

export async function trimCost(ctx: ScenarioContext): Promise<Figure[]> {
  const client = new Client(ctx.target.baseUrl, APPEND_CONCURRENCY);
  const figures: Figure[] = [];
  const totalBytes = ctx.profile.quick ? 2 * MiB : 8 * MiB;
  try {
    for (const shape of SHAPES) {
      const perMiB: number[] = [];
      const details: Trimmed[] = [];
      for (let round = 0; round < ctx.profile.rounds; round++) {
        const stream = `trim-${shape.id}-${round}-${Date.now()}`;
        const path = streamPath(stream);
        await client.expectOk({ method: "PUT", path, headers: { "content-type": shape.contentType, "stream-retention": "max-bytes=1" } });
        const appends = Math.ceil(totalBytes / shape.bytes);
        ctx.log(`trim (${shape.label}): round ${round + 1}, ${appends} appends`);
        await mapLimit(Array.from({ length: appends }, (_, i) => i), APPEND_CONCURRENCY, () =>
          client.expectOk({ method: "POST", path, headers: { "content-type": shape.contentType }, body: shape.body }),
        );
        // Whole rows: everything but the last append's rows is trimmed.
        const trimmed = await settled(client, stream, appends * shape.bytes - shape.bytes);
        details.push(trimmed);
        perMiB.push(trimmed.rowsWritten / (trimmed.bytes / MiB));
      }
      figures.push({
        id: `trim.${shape.id}.rowsPerMiB`,
        label: `retention trim: rows written per MiB trimmed, ${shape.label}`,
        unit: "rows/MiB",
        better: "lower",
        value: spread(perMiB),
        errors: 0,
        detail: { rounds: details },
      });
    }
  } finally {
    await client.close();
  }
  return figures;
}

/** The stream's trims once they have removed at least `bytes`. */
async function settled(client: Client, stream: string, bytes: number): Promise<Trimmed> {
  const deadline = performance.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const reply = await client.expectOk({ method: "GET", path: `/v1/estuary/subscribers/${PROJECT}/${stream}` });
    const trimmed = (JSON.parse(reply.body.toString("utf8")) as { retention: { trimmed: Trimmed } }).retention.trimmed;
    if (trimmed.bytes >= bytes) return trimmed;
    if (performance.now() > deadline) throw new Error(`trims of ${stream} removed ${trimmed.bytes} of ${bytes} bytes in ${SETTLE_TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
}
