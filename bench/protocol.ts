// Durable Streams calls the scenarios share: create a stream, read it to the tail, follow an SSE stream.
import { performance } from "node:perf_hooks";
import type { Client } from "./load.ts";

export const OCTET = "application/octet-stream";
export const TEXT = "text/plain";
export const JSON_TYPE = "application/json";

/** Every benchmark stream lives in one project, on ours and (as a plain path) on the reference. */
export const PROJECT = "bench";

export function streamPath(stream: string): string {
  return `/v1/stream/${PROJECT}/${stream}`;
}

/** Creates a stream (201, or 200 if it already exists with the same type) and returns its tail. */
export async function createStream(client: Client, stream: string, contentType: string): Promise<string> {
  const reply = await client.expectOk({ method: "PUT", path: streamPath(stream), headers: { "content-type": contentType } });
  return nextOffset(reply.headers, `PUT ${stream}`);
}

export function nextOffset(headers: Record<string, string | undefined>, what: string): string {
  const offset = headers["stream-next-offset"];
  if (!offset) throw new Error(`${what} answered without Stream-Next-Offset`);
  return offset;
}

export interface FullRead {
  bytes: number;
  requests: number;
  pages: Buffer[];
}

/**
 * Catch-up read of a whole stream: follows Stream-Next-Offset from -1 until a response that is
 * up to date and has an empty body (for JSON streams, an empty array).
 */
export async function readAll(client: Client, path: string, maxRequests = 100_000): Promise<FullRead> {
  const pages: Buffer[] = [];
  let offset = "-1";
  let bytes = 0;
  for (let requests = 1; requests <= maxRequests; requests++) {
    const reply = await client.expectOk({ method: "GET", path: `${path}?offset=${offset}` });
    const next = nextOffset(reply.headers, `GET ${path}`);
    const upToDate = reply.headers["stream-up-to-date"] === "true";
    if (upToDate && isEmptyPage(reply.headers, reply.body)) return { bytes, requests, pages };
    if (next === offset && !upToDate) throw new Error(`GET ${path} made no progress at ${offset}`);
    pages.push(reply.body);
    bytes += reply.body.length;
    offset = next;
  }
  throw new Error(`GET ${path} did not reach the tail in ${maxRequests} requests`);
}

function isEmptyPage(headers: Record<string, string | undefined>, body: Buffer): boolean {
  const json = (headers["content-type"] ?? "").toLowerCase().startsWith(JSON_TYPE);
  return json ? body.toString("utf8").trim() === "[]" : body.length === 0;
}

/** All messages of a JSON stream, in order. */
export async function readJsonMessages(client: Client, path: string): Promise<unknown[]> {
  const { pages } = await readAll(client, path);
  return pages.flatMap((page) => JSON.parse(page.toString("utf8")) as unknown[]);
}

export interface SseEvent {
  type: string;
  data: string;
  /** performance.now() when the chunk completing this event arrived. */
  at: number;
}

/** Reads server-sent events from a response body as they arrive; `next` waits for the next one. */
export class SseReader {
  private buffer = "";
  private readonly events: SseEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;
  private failure: unknown = null;

  constructor(body: AsyncIterable<Buffer>) {
    void this.pump(body);
  }

  private async pump(body: AsyncIterable<Buffer>): Promise<void> {
    try {
      for await (const chunk of body) {
        const at = performance.now();
        this.buffer += chunk.toString("utf8").replace(/\r\n/g, "\n");
        for (let end = this.buffer.indexOf("\n\n"); end >= 0; end = this.buffer.indexOf("\n\n")) {
          const raw = this.buffer.slice(0, end);
          this.buffer = this.buffer.slice(end + 2);
          this.events.push(parseEvent(raw, at));
        }
        this.notify();
      }
    } catch (error) {
      this.failure = error;
    } finally {
      this.ended = true;
      this.notify();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** The next event of type `type`; events of other types before it are skipped. */
  async next(type: string, timeoutMs: number): Promise<SseEvent> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const event = this.events.shift();
      if (event) {
        if (event.type === type) return event;
        continue;
      }
      if (this.ended) throw new Error(`SSE stream ended${this.failure ? `: ${String(this.failure)}` : ""}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no SSE ${type} event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

function parseEvent(raw: string, at: number): SseEvent {
  let type = "message";
  const data: string[] = [];
  for (const line of raw.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
  }
  return { type, data: data.join("\n"), at };
}
