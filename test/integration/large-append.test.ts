// The 8 MiB append limit: exactly 8 MiB is stored and read back byte-exact; one byte more is refused with 413.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { READ_CHUNK_BYTES } from "../../src/stream/chunks";
import { call, expectError } from "./worker";

const LIMIT = 8 * 1024 * 1024;
const octets = { "Content-Type": "application/octet-stream" };

/** Bytes whose value depends on both the position within a row and the row, so misplaced rows show. */
function patterned(length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let index = 0; index < length; index++) data[index] = (index % 251) ^ ((index >>> 20) * 37);
  return data;
}

function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(actual.length, expected.length);
  for (let index = 0; index < length; index++) if (actual[index] !== expected[index]) return index;
  return actual.length === expected.length ? -1 : length;
}

/** Follows Stream-Next-Offset from the start until a response is up to date; returns the pages. */
async function catchUp(path: string): Promise<{ pages: Uint8Array[]; tail: string }> {
  const pages: Uint8Array[] = [];
  let offset = "-1";
  for (let request = 0; request < 64; request++) {
    const response = await call(`${path}?offset=${offset}`);
    expect(response.status).toBe(200);
    pages.push(new Uint8Array(await response.arrayBuffer()));
    const next = response.headers.get("Stream-Next-Offset");
    expect(next).not.toBeNull();
    offset = next ?? "";
    if (response.headers.get("Stream-Up-To-Date") === "true") return { pages, tail: offset };
  }
  throw new Error(`${path} never reported Stream-Up-To-Date`);
}

function concat(pages: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pages.reduce((sum, page) => sum + page.length, 0));
  let offset = 0;
  for (const page of pages) {
    out.set(page, offset);
    offset += page.length;
  }
  return out;
}

describe("the append size limit", () => {
  it("accepts an append of exactly 8 MiB and reads it back byte-exact through paginated catch-up reads", async () => {
    const path = "/v1/stream/large-exact";
    const data = patterned(LIMIT);
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    const append = await call(path, { method: "POST", headers: octets, body: data });
    expect(append.status).toBe(204);

    const { pages, tail } = await catchUp(path);
    expect(tail).toBe(append.headers.get("Stream-Next-Offset"));
    expect(pages.length).toBe(LIMIT / READ_CHUNK_BYTES);
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(READ_CHUNK_BYTES);
    expect(firstDifference(concat(pages), data)).toBe(-1);

    const atTail = await call(`${path}?offset=${tail}`);
    expect(atTail.status).toBe(200);
    expect(atTail.headers.get("Stream-Up-To-Date")).toBe("true");
    expect((await atTail.arrayBuffer()).byteLength).toBe(0);
  });

  it("refuses an append of 8 MiB + 1 byte with 413 naming the limit, leaving the stream unchanged", async () => {
    const path = "/v1/stream/large-over";
    const text = { "Content-Type": "text/plain" };
    expect((await call(path, { method: "PUT", headers: text, body: "kept" })).status).toBe(201);
    const before = (await call(path, { method: "HEAD" })).headers.get("Stream-Next-Offset");

    const refused = await call(path, { method: "POST", headers: text, body: "k".repeat(LIMIT + 1) });
    const message = await expectError(refused, 413, "too_large");
    expect(message).toContain(String(LIMIT));

    expect((await call(path, { method: "HEAD" })).headers.get("Stream-Next-Offset")).toBe(before);
    expect(await (await call(`${path}?offset=-1`)).text()).toBe("kept");
  });

  it("refuses an oversized body sent without Content-Length, as it streams in", async () => {
    const path = "/v1/stream/large-streamed";
    expect((await call(path, { method: "PUT", headers: octets })).status).toBe(201);
    const pieces = [patterned(LIMIT), patterned(1)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const piece = pieces.shift();
        if (piece) controller.enqueue(piece);
        else controller.close();
      },
    });

    // Handed to the Worker's fetch handler as it is, so nothing on the way can add a length: the
    // Worker sees a body of unknown size and must refuse it by counting as it reads.
    const request = new Request(`https://streams.test${path}`, { method: "POST", headers: octets, body });
    expect(request.headers.get("Content-Length")).toBeNull();
    const ctx = createExecutionContext();
    const refused = await worker.fetch(request, env, ctx);
    await waitOnExecutionContext(ctx);
    await expectError(refused, 413, "too_large");
    expect((await call(path, { method: "HEAD" })).headers.get("Stream-Next-Offset")).toBe(
      "0000000000000000_0000000000000000",
    );
  });

  it("refuses an initial PUT body of 8 MiB + 1 byte without creating the stream", async () => {
    const path = "/v1/stream/large-put";
    await expectError(await call(path, { method: "PUT", headers: octets, body: patterned(LIMIT + 1) }), 413, "too_large");
    await expectError(await call(path), 404, "not_found");
  });
});
