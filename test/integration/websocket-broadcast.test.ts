// The WebSocket broadcast (src/stream/socket-broadcast.ts): inside the append's event for a few
// sockets, after the append answered for more than WS_INLINE_BROADCAST_MAX. Both ways, under bursts of
// appends, appends landing during a multi-frame pass, an object evicted during its pass with its
// sockets kept, an instance lost before its pass, and the socket holding the mark leaving, every
// socket gets every message once, in order, and can resume from its streamNextOffset.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { StreamFrame } from "../../src/protocol/ws-frames";
import type { StreamDO } from "../../src/stream/stream-do";
import { call, streamObject } from "./worker";
import { append, Client, create, open } from "./ws-client";

/** Takes frames until one ends at `tail`; returns every message in them, and the frames. */
async function until(client: Client, tail: string): Promise<{ messages: unknown[]; frames: StreamFrame[] }> {
  const messages: unknown[] = [];
  const frames: StreamFrame[] = [];
  for (;;) {
    const frame = await client.frame();
    frames.push(frame);
    if (Array.isArray(frame.data)) messages.push(...(frame.data as unknown[]));
    else messages.push(frame.data);
    if (frame.streamNextOffset === tail) return { messages, frames };
  }
}

async function openMany(path: string, count: number): Promise<Client[]> {
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) clients.push(await open(path));
  for (const client of clients) await client.frame();
  return clients;
}

interface Attachment {
  position: number | null;
  mark?: number;
}

function attachments(name: string): Promise<Attachment[]> {
  return runInDurableObject(streamObject(`default/${name}`), (_instance: StreamDO, state) => state.getWebSockets().map((ws) => ws.deserializeAttachment() as Attachment));
}

/** The instance's log reads after its first fail (a pass cut short between two frames). */
function failLaterReads(instance: StreamDO): void {
  const reader = (instance as unknown as { log: { reader: { gather: (...args: unknown[]) => Promise<unknown> } } }).log.reader;
  const gather = reader.gather.bind(reader);
  let reads = 0;
  reader.gather = async (...args) => {
    reads++;
    if (reads > 1) throw new Error("read failed on purpose");
    return gather(...args);
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The test configuration's WS_INLINE_BROADCAST_MAX is 1 (and WS_MAX_PER_STREAM 3). */
const INLINE_BROADCAST_MAX = 1;
/** Sockets sent to inside the append's event, and enough of them for the pass to be deferred. */
const WAYS = [
  ["inline", 1],
  ["deferred", INLINE_BROADCAST_MAX + 1],
] as const;

describe.each(WAYS)("WebSocket broadcast, %s (%i sockets)", (way, sockets) => {
  it("delivers a burst of concurrent appends to every socket once, in order", async () => {
    const name = `wsb-burst-${way}`;
    await create(name, "application/json", "[0]");
    const clients = [...(await openMany(`/v1/stream/${name}?offset=-1&live=ws`, Math.ceil(sockets / 2))), ...(await openMany(`/v1/stream/${name}?offset=now&live=ws`, Math.floor(sockets / 2)))];
    // Sent all at once: the object serialises them; each socket must see the committed order.
    const tails = await Promise.all(range(1, 41).map((n) => append(name, "application/json", JSON.stringify(n))));
    const tail = tails.toSorted().at(-1) ?? "";
    const committed = (await (await call(`/v1/stream/${name}?offset=-1`)).json()) as number[];
    expect(committed.toSorted((a, b) => a - b)).toEqual(range(0, 41));
    for (const client of clients) {
      const got = await until(client, tail);
      expect(got.messages).toEqual(committed.slice(1));
      // At most one frame per append: appends that commit during a pass go out together.
      expect(got.frames.length).toBeLessThanOrEqual(40);
    }
    await clients[0]?.expectOnlyMarker(name, { marker: "burst" });
  });

  it("sends appends that land during a multi-frame catch-up after it, in order, once", async () => {
    const name = `wsb-during-${way}`;
    // 3 MiB of text: the catch-up takes several frames (about 1 MiB each), each read awaited.
    const piece = "a".repeat(1024 * 1024);
    await create(name, "text/plain", piece);
    await append(name, "text/plain", piece.replaceAll("a", "b"));
    await append(name, "text/plain", piece.replaceAll("a", "c"));
    const watching = await openMany(`/v1/stream/${name}?offset=now&live=ws`, sockets - 1);
    const response = await call(`/v1/stream/${name}?offset=-1&live=ws`, { headers: { Upgrade: "websocket" } });
    if (!response.webSocket) throw new Error("no WebSocket in the 101");
    const reader = new Client(response.webSocket);
    const letters = ["d", "e", "f"];
    const tails = await Promise.all(letters.map((letter) => append(name, "text/plain", letter)));
    const tail = tails.toSorted().at(-1) ?? "";
    const inCommitOrder = letters.toSorted((a, b) => (tails[letters.indexOf(a)] ?? "").localeCompare(tails[letters.indexOf(b)] ?? "")).join("");
    const text = (await until(reader, tail)).messages.join("");
    expect(text.length).toBe(3 * 1024 * 1024 + 3);
    expect(text.slice(0, 3 * 1024 * 1024)).toBe(piece + piece.replaceAll("a", "b") + piece.replaceAll("a", "c"));
    expect(text.slice(-3)).toBe(inCommitOrder);
    for (const client of watching) expect((await until(client, tail)).messages.join("")).toBe(inCommitOrder);
  });

  it("a pass cut short between two frames, then the object evicted with sockets kept: the next instance continues each socket from where it stands, once, in order", async () => {
    const name = `wsb-evicted-${way}`;
    await create(name, "text/plain", "start;");
    const stub = streamObject(`default/${name}`);
    const clients = await openMany(`/v1/stream/${name}?offset=-1&live=ws`, sockets);
    // Three appends of 1 MiB take three frames. The object's second read of the log fails, so its
    // pass stops after the first frame; then it is evicted with its sockets kept (the runtime evicts
    // only an idle object: a pass still running would be waited for).
    const pieces = ["x", "y", "z"].map((letter) => letter.repeat(1024 * 1024));
    await runInDurableObject(stub, async (instance: StreamDO) => {
      failLaterReads(instance);
      for (const piece of pieces) await instance.append({ contentType: "text/plain", body: new TextEncoder().encode(piece), close: false });
    });
    await evictDurableObject(stub, { webSockets: "hibernate" });
    // Any event starts a new instance, which sends what the evicted one had not.
    const head = await call(`/v1/stream/${name}`, { method: "HEAD" });
    const tail = head.headers.get("Stream-Next-Offset") ?? "";
    for (const client of clients) expect((await until(client, tail)).messages.join("")).toBe(pieces.join(""));
    // Nothing is sent twice: the next frame each socket gets is the next append.
    const end = await append(name, "text/plain", ";end");
    for (const client of clients) expect(await client.frame()).toEqual({ data: ";end", streamNextOffset: end, upToDate: true });
  });

  it("keeps sockets at the tail unwritten: one attachment holds the mark, and after each eviction every socket gets each append once", async () => {
    const name = `wsb-mark-${way}`;
    await create(name, "application/json", "[0]");
    const stub = streamObject(`default/${name}`);
    const clients = [...(await openMany(`/v1/stream/${name}?offset=-1&live=ws`, 1)), ...(await openMany(`/v1/stream/${name}?offset=now&live=ws`, sockets - 1))];
    for (let round = 1; round <= 3; round++) {
      await evictDurableObject(stub, { webSockets: "hibernate" });
      const tail = await append(name, "application/json", JSON.stringify([round]));
      for (const client of clients) expect(await client.frame()).toEqual({ data: [round], streamNextOffset: tail, upToDate: true });
    }
    const held = await attachments(name);
    expect(held.map((attachment) => attachment.position)).toEqual(held.map(() => null));
    expect(held.filter((attachment) => attachment.mark !== undefined)).toHaveLength(1);
    await clients[0]?.expectOnlyMarker(name, { marker: "mark" });
  });

  it("hands the mark to another socket when the one holding it leaves", async () => {
    const name = `wsb-anchor-${way}`;
    await create(name, "application/json", "[0]");
    const stub = streamObject(`default/${name}`);
    // The first socket to reach the tail holds the mark; one more socket than the way needs stays.
    const first = await open(`/v1/stream/${name}?offset=-1&live=ws`);
    await first.frame();
    const others = await openMany(`/v1/stream/${name}?offset=-1&live=ws`, sockets);
    const clients = [first, ...others];
    const one = await append(name, "application/json", "[1]");
    for (const client of clients) await until(client, one);
    expect((await attachments(name)).filter((attachment) => attachment.mark !== undefined)).toHaveLength(1);
    const leaving = first;
    leaving.ws.close(1000);
    await leaving.closed;
    // The mark moved to one of the sockets that stay (without it, they could not be resumed).
    const held = await attachments(name);
    expect(held).toHaveLength(sockets);
    expect(held.filter((attachment) => attachment.mark !== undefined)).toHaveLength(1);
    await evictDurableObject(stub, { webSockets: "hibernate" });
    const staying = clients.filter((client) => client !== leaving);
    const tail = await append(name, "application/json", "[2]");
    for (const client of staying) expect(await client.frame()).toEqual({ data: [2], streamNextOffset: tail, upToDate: true });
  });
  it("hands the mark on when the socket holding it leaves while the object is hibernating", async () => {
    const name = `wsb-anchor-asleep-${way}`;
    await create(name, "application/json", "[0]");
    const stub = streamObject(`default/${name}`);
    // The first socket to reach the tail holds the mark.
    const first = await open(`/v1/stream/${name}?offset=-1&live=ws`);
    await first.frame();
    const staying = await openMany(`/v1/stream/${name}?offset=-1&live=ws`, sockets);
    const one = await append(name, "application/json", "[1]");
    for (const client of [first, ...staying]) await until(client, one);
    await evictDurableObject(stub, { webSockets: "hibernate" });
    // Its close is the first event of a new instance.
    first.ws.close(1000);
    await first.closed;
    const tail = await append(name, "application/json", "[2]");
    for (const client of staying) expect(await client.frame()).toEqual({ data: [2], streamNextOffset: tail, upToDate: true });
    const held = await attachments(name);
    expect(held.filter((attachment) => attachment.mark !== undefined)).toHaveLength(1);
  });
});

describe("WebSocket broadcast, an instance lost", () => {
  it("that dies right after an append drops its sockets: a reconnect from the last streamNextOffset gets the rest once", async () => {
    await create("wsb-lost", "application/json", "[0]");
    const stub = streamObject("default/wsb-lost");
    const clients = await openMany("/v1/stream/wsb-lost?offset=-1&live=ws", INLINE_BROADCAST_MAX + 1);
    const before = (await call("/v1/stream/wsb-lost", { method: "HEAD" })).headers.get("Stream-Next-Offset") ?? "";
    // The append commits and is durable, then the instance dies in the same event.
    const aborted = runInDurableObject(stub, async (instance: StreamDO, state) => {
      await instance.append({ contentType: "application/json", body: new TextEncoder().encode("[1,2]"), close: false });
      await state.storage.sync();
      state.abort("lost before the broadcast");
    });
    await expect(aborted).rejects.toThrow("lost before the broadcast");
    // The sockets do not outlive the instance, so nothing is left waiting for a pass that never comes.
    for (const client of clients) expect((await client.closed).code).toBe(1006);
    const again = await open(`/v1/stream/wsb-lost?offset=${before}&live=ws`);
    expect((await again.frame()).data).toEqual([1, 2]);
    await again.expectOnlyMarker("wsb-lost", { marker: 3 });
  });
});
