// Retention against a real `wrangler dev`, with its own clock and alarms: a stream with
// `max-messages=100` that received 1,000 messages keeps the last 100 (at most one row more), its old
// start offset answers 410 with Stream-Earliest-Offset on catch-up, long-poll and SSE, and -1 reads
// from the earliest. The trim is awaited by watching what offset=-1 reads shrink to the policy.
/// <reference types="node" />
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatOffset } from "../../src/protocol/offsets";
import { pollUntil, startServer, stopServer, unique } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";

const MESSAGES = 1_000;
const KEPT = 100;
const json = { "Content-Type": "application/json" };

let server: DevServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await stopServer(server);
});

describe("retention, against wrangler dev", () => {
  it(`max-messages=${KEPT} on a stream of ${MESSAGES} messages keeps the last ${KEPT}, and the old start answers 410`, async () => {
    const url = `${server.baseUrl}/v1/stream/live-retention/${unique("recent")}`;
    const created = await fetch(url, { method: "PUT", headers: { ...json, "Stream-Retention": `max-messages=${KEPT}` } });
    expect(created.status).toBe(201);
    expect(created.headers.get("Stream-Retention")).toBe(`max-messages=${KEPT}`);
    for (let n = 0; n < MESSAGES; n++) {
      const appended = await fetch(url, { method: "POST", headers: json, body: JSON.stringify({ n }) });
      expect(appended.status).toBe(204);
    }

    // Trims run about 5 s after the first append since the last one, so one may have run while
    // the appends were still arriving: wait until what -1 reads is within the policy.
    const readAll = async () => (await (await fetch(`${url}?offset=-1`)).json()) as { n: number }[];
    const kept = await pollUntil("the trim to reach the policy", readAll, (messages) => messages.length <= KEPT + 1);
    // Whole rows: one append per row here, so at most one message more than the policy.
    expect(kept.length).toBeGreaterThanOrEqual(KEPT);
    expect(kept.map(({ n }) => n)).toEqual(Array.from({ length: kept.length }, (_, index) => MESSAGES - kept.length + index));
    const head = (await fetch(url, { method: "HEAD" })).headers.get("Stream-Earliest-Offset");
    expect(head).not.toBe(formatOffset(0));

    const start = formatOffset(0);
    for (const live of ["", "&live=long-poll", "&live=sse"]) {
      const gone = await fetch(`${url}?offset=${start}${live}`);
      expect(gone.status, `offset=${start}${live}`).toBe(410);
      expect(gone.headers.get("Stream-Earliest-Offset")).toBe(head);
      expect(gone.headers.get("Cache-Control")).toBe("no-store");
      expect(await gone.json()).toMatchObject({ error: { code: "gone", earliestOffset: head } });
    }
  });
});
