// The WebSocket broadcast runs after the append answered (src/stream/socket-broadcast.ts): under
// bursts of appends, appends landing during a pass, and an object evicted before its pass ran,
// every socket still gets every message once, in order, and can resume from its streamNextOffset.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { StreamFrame } from "../../src/protocol/ws-frames";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, streamObject } from "./worker";
import { append, type Client, create, open } from "./ws-client";

/** Takes frames until one ends at `tail`; returns every message in them, and the frames. */
async function until(client: Client, tail: string): Promise<{ messages: unknown[]; frames: StreamFrame[] }> {
  const messages: unknown[] = [];
  const frames: StreamFrame[] = [];
  for (;;) {
    const frame = await client.frame();
    frames.push(frame);
    messages.push(...(frame.data as unknown[]));
    if (frame.streamNextOffset === tail) return { messages, frames };
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("WebSocket broadcast after the append answers", () => {
  it("delivers a burst of concurrent appends to every socket once, in order, coalescing frames", async () => {
    await create("wsb-burst", "application/json", "[0]");
    const clients: Client[] = [];
    for (let i = 0; i < 3; i++) clients.push(await open(`/v1/stream/wsb-burst?offset=${i % 2 === 0 ? "-1" : "now"}&live=ws`));
    for (const client of clients) await client.frame();
    // Sent all at once: the object serialises them; each socket must see the committed order.
    const tails = await Promise.all(range(1, 61).map((n) => append("wsb-burst", "application/json", JSON.stringify(n))));
    const tail = tails.sort().at(-1) ?? "";
    const committed = (await (await call("/v1/stream/wsb-burst?offset=-1")).json()) as number[];
    expect(committed.toSorted((a, b) => a - b)).toEqual(range(0, 61));
    let frames = 0;
    for (const client of clients) {
      const got = await until(client, tail);
      expect(got.messages).toEqual(committed.slice(1));
      frames += got.frames.length;
    }
    // Appends that commit while a pass is pending go out together (at most one frame per append).
    expect(frames).toBeLessThan(3 * 60);
    await clients[0]?.expectOnlyMarker("wsb-burst", { marker: "burst" });
  });

  it("sends an append that lands during a multi-frame catch-up after it, in order, once", async () => {
    // 3 MiB of text: the catch-up takes several frames (about 1 MiB each), each read awaited.
    const piece = "a".repeat(1024 * 1024);
    await create("wsb-during", "text/plain", piece);
    await append("wsb-during", "text/plain", piece.replaceAll("a", "b"));
    await append("wsb-during", "text/plain", piece.replaceAll("a", "c"));
    const client = await open("/v1/stream/wsb-during?offset=-1&live=ws");
    const letters = ["d", "e", "f"];
    const tails = await Promise.all(letters.map((letter) => append("wsb-during", "text/plain", letter)));
    const tail = tails.toSorted().at(-1) ?? "";
    const inCommitOrder = letters.toSorted((a, b) => (tails[letters.indexOf(a)] ?? "").localeCompare(tails[letters.indexOf(b)] ?? "")).join("");
    let text = "";
    for (;;) {
      const frame = await client.frame();
      text += frame.data as string;
      if (frame.streamNextOffset === tail) break;
    }
    expect(text.length).toBe(3 * 1024 * 1024 + 3);
    expect(text.slice(0, 3 * 1024 * 1024)).toBe(piece + piece.replaceAll("a", "b") + piece.replaceAll("a", "c"));
    expect(text.slice(-3)).toBe(inCommitOrder);
  });

  it("an instance lost after the append answered, before its pass, drops its sockets: a reconnect from streamNextOffset gets the rest once", async () => {
    await create("wsb-lost", "application/json", "[0]");
    const stub = streamObject("default/wsb-lost");
    const client = await open("/v1/stream/wsb-lost?offset=-1&live=ws");
    const seen = await client.frame();
    expect(seen.data).toEqual([0]);
    // The socket now stands at the mark; evicted with it kept, as after hibernation.
    await evictDurableObject(stub, { webSockets: "hibernate" });
    let sentBeforeAbort = -1;
    // The append commits and is durable, then the instance dies in the same event: its pass never runs.
    const aborted = runInDurableObject(stub, async (instance: StreamDO, state) => {
      await instance.append({ contentType: "application/json", body: new TextEncoder().encode("[1,2]"), close: false });
      await state.storage.sync();
      sentBeforeAbort = client.pending;
      state.abort("lost before the broadcast");
    });
    await expect(aborted).rejects.toThrow("lost before the broadcast");
    expect(sentBeforeAbort).toBe(0);
    // The socket does not outlive the instance, so nothing is left waiting for a pass that never comes.
    expect((await client.closed).code).toBe(1006);
    const again = await open(`/v1/stream/wsb-lost?offset=${seen.streamNextOffset}&live=ws`);
    expect((await again.frame()).data).toEqual([1, 2]);
    await again.expectOnlyMarker("wsb-lost", { marker: 3 });
  });

  it("keeps resuming from the mark after hibernation: sockets at the tail are not rewritten, yet get each append once", async () => {
    await create("wsb-mark", "application/json", "[0]");
    const stub = streamObject("default/wsb-mark");
    const clients = [await open("/v1/stream/wsb-mark?offset=-1&live=ws"), await open("/v1/stream/wsb-mark?offset=now&live=ws")];
    for (const client of clients) await client.frame();
    for (let round = 1; round <= 3; round++) {
      await evictDurableObject(stub, { webSockets: "hibernate" });
      const tail = await append("wsb-mark", "application/json", JSON.stringify([round]));
      for (const client of clients) expect(await client.frame()).toEqual({ data: [round], streamNextOffset: tail, upToDate: true });
    }
    const attachments = await runInDurableObject(stub, (_instance: StreamDO, state) => state.getWebSockets().map((ws) => ws.deserializeAttachment() as { position: number | null }));
    expect(attachments.map((attachment) => attachment.position)).toEqual([null, null]);
    await clients[1]?.expectOnlyMarker("wsb-mark", { marker: "mark" });
  });
});
