// The cold tier against a real `wrangler dev` (its local R2 and alarms): a stream of several MiB
// with a 1 MiB threshold moves to R2 on its own, and reads back byte-exact, also after a restart.
/// <reference types="node" />
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pollUntil, sha256, startServer, unique } from "../estuary/harness";
import type { DevServer } from "../support/wrangler-dev";

const MiB = 1024 * 1024;
const VARS = { COLD_AFTER_BYTES: String(MiB) };
const octets = { "Content-Type": "application/octet-stream" };

let server: DevServer | undefined;
const persistDirs: string[] = [];

afterAll(async () => {
  await server?.stop();
  for (const dir of persistDirs) await rm(dir, { recursive: true, force: true });
});

/** A fresh persist directory, removed after the file. */
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cold-tier-"));
  persistDirs.push(dir);
  return dir;
}

/** Creates a stream and appends `data` in appends of 300,000 bytes; its URL. */
async function writeStream(base: string, data: Uint8Array): Promise<string> {
  const url = `${base}/v1/stream/${unique("cold")}`;
  expect((await fetch(url, { method: "PUT", headers: octets })).status).toBe(201);
  for (let offset = 0; offset < data.length; offset += 300_000) {
    const append = await fetch(url, { method: "POST", headers: octets, body: data.subarray(offset, offset + 300_000) });
    expect(append.status).toBe(204);
  }
  return url;
}

function patterned(length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let index = 0; index < length; index++) data[index] = (index * 131 + (index >>> 16)) & 0xff;
  return data;
}

async function readAll(url: string): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let offset = "-1";
  for (let request = 0; request < 100; request++) {
    const response = await fetch(`${url}?offset=${offset}`);
    expect(response.status).toBe(200);
    parts.push(Buffer.from(await response.arrayBuffer()));
    offset = response.headers.get("Stream-Next-Offset") ?? "";
    if (response.headers.get("Stream-Up-To-Date") === "true") return new Uint8Array(Buffer.concat(parts));
  }
  throw new Error("never up to date");
}

async function storage(url: string): Promise<{ hot: number; cold: number }> {
  const head = await fetch(url, { method: "HEAD" });
  return { hot: Number(head.headers.get("Stream-Hot-Bytes")), cold: Number(head.headers.get("Stream-Cold-Bytes")) };
}

/** Files the local R2 simulation keeps for the bucket's objects. */
async function localBlobs(dir: string): Promise<number> {
  const root = join(dir, "v3", "r2");
  let count = 0;
  for (const bucket of await readdir(root).catch(() => [])) {
    count += (await readdir(join(root, bucket, "blobs")).catch(() => [])).length;
  }
  return count;
}

describe("the cold tier under wrangler dev", () => {
  it("offloads a 6 MiB stream past a 1 MiB threshold and reads it back byte-exact after a restart", async () => {
    const persistDir = await freshDir();
    server = await startServer({ persistDir, vars: VARS });
    const data = patterned(6 * MiB);
    const url = await writeStream(server.baseUrl, data);
    // The alarm offloads on its own, a few segments per run.
    const moved = await pollUntil("the offload", () => storage(url), ({ hot }) => hot <= MiB);
    expect(moved.hot + moved.cold).toBe(data.length);
    expect(await localBlobs(persistDir)).toBeGreaterThanOrEqual(4);
    expect(sha256(await readAll(url))).toBe(sha256(data));

    await server.stop();
    server = await startServer({ persistDir, vars: VARS });
    const restartedUrl = url.replace(/^http:\/\/[^/]+/, server.baseUrl);
    expect(await storage(restartedUrl)).toEqual(moved);
    const after = await readAll(restartedUrl);
    expect(after.length).toBe(data.length);
    expect(sha256(after)).toBe(sha256(data));
  });

  it("a kill while offloading loses and duplicates nothing: after the restart the offload finishes, byte-exact", async () => {
    const persistDir = await freshDir();
    server = await startServer({ persistDir, vars: VARS });
    const data = patterned(8 * MiB);
    const url = await writeStream(server.baseUrl, data);
    // The alarm is offloading now (a few segments per run): kill the whole process tree mid-way.
    server.kill();
    server = await startServer({ persistDir, vars: VARS });
    const restartedUrl = url.replace(/^http:\/\/[^/]+/, server.baseUrl);
    const moved = await pollUntil("the offload after the restart", () => storage(restartedUrl), ({ hot }) => hot <= MiB);
    expect(moved.hot + moved.cold).toBe(data.length);
    const after = await readAll(restartedUrl);
    expect(after.length).toBe(data.length);
    expect(sha256(after)).toBe(sha256(data));
  });
});
