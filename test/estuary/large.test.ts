// A 5 MiB binary append fanned out through the queue arrives byte-exact in every estuary.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DevServer } from "../support/wrangler-dev";
import { Api, mapLimit, sha256, startServer, stopServer, unique, waitForPushed } from "./harness";

const BINARY = "application/octet-stream";
const project = "large";
const SUBSCRIBERS = 201;
const PAYLOAD_BYTES = 5 * 1024 * 1024;
const CONVERGE_MS = 180_000;

let server: DevServer;
let api: Api;

beforeAll(async () => {
  server = await startServer();
  api = new Api(server.baseUrl);
});

afterAll(async () => {
  await stopServer(server);
});

describe("large appends", () => {
  test("a 5 MiB binary append reaches all 201 queue-path estuaries byte-exact", async () => {
    const started = Date.now();
    const source = unique("big");
    await api.create(project, source, BINARY);
    const estuaries = Array.from({ length: SUBSCRIBERS }, (_, index) => `${source}-e${index}`);
    await mapLimit(estuaries, 20, (estuary) => api.subscribeNew(project, source, estuary));
    expect((await api.status(project, source)).mode).toBe("queue");

    const payload = randomBytes(PAYLOAD_BYTES);
    const expectedHash = sha256(payload);
    const tail = await api.append(project, source, BINARY, payload);
    expect(sha256(await api.readBytes(project, source))).toBe(expectedHash);
    const publishedAt = Date.now();

    // The queue jobs pushed the append to every estuary, none pulled it (any read of an estuary,
    // a HEAD too, first pulls what it lacks, so the fan-out status is what tells); then hash a full read.
    const pushed = await waitForPushed(api, project, source, tail, SUBSCRIBERS, CONVERGE_MS);
    expect(pushed.cost.queueMessages).toBeGreaterThan(0);
    const hashes = await mapLimit(estuaries, 8, async (estuary) => {
      const pages = await api.readPages(project, estuary);
      return { pages: pages.length, hash: sha256(Buffer.concat(pages)) };
    });
    const matching = hashes.filter((result) => result.hash === expectedHash).length;
    process.stdout.write(
      `large: estuaries=${estuaries.length} bytes each=${PAYLOAD_BYTES} byte-exact=${matching} ` +
        `pages per read=${hashes[0]?.pages} fan-out=${Date.now() - publishedAt}ms total=${Date.now() - started}ms\n`,
    );
    expect(matching).toBe(estuaries.length);
    // Each read was paginated, so the hash covers the reassembly of several responses.
    expect(hashes.every((result) => result.pages > 1)).toBe(true);
  }, 300_000);
});
