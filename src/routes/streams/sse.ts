// SSE transport (protocol §5.7): a loop of long-poll reads against the StreamDO, framed as events.
// Each batch is an `event: data` followed at once by an `event: control`. While a read waits, a
// comment every SSE_HEARTBEAT_MS lets the runtime notice a departed client (a disconnect shows only
// when a write meets it), and the departure ends the object's wait (departure.ts).
import type { Config } from "../../config";
import type { ReadResult } from "../../stream/commands";
import { sseCarriesText } from "../../protocol/content-type";
import { nextCursor } from "../../protocol/cursor";
import { formatOffset } from "../../protocol/offsets";
import type { StreamDO } from "../../stream/stream-do";
import { toBase64 } from "../../bytes";
import type { LiveRead } from "./departure";

type ReadOk = Extract<ReadResult, { ok: true }>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LINE_BREAK = /\r\n|\r|\n/;
/**
 * How often a waiting SSE connection writes a comment: a client that left is noticed within a beat
 * or two (the first write after a disconnect may still be buffered). Costs the Worker a few bytes
 * of output and no call to the object.
 */
export const SSE_HEARTBEAT_MS = 1_000;
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

export interface SseOptions {
  clientCursor: string | undefined;
  requirePublic: boolean;
  /** Names the reads and learns of the client's departure. */
  read: LiveRead;
}

export function sseResponse(stub: DurableObjectStub<StreamDO>, first: ReadOk, options: SseOptions, config: Config): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const textual = sseCarriesText(first.contentType);
  void pump(stub, first, options, config, textual, writable.getWriter());
  const headers = new Headers({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  if (!textual) headers.set("Stream-SSE-Data-Encoding", "base64");
  return new Response(readable, { status: 200, headers });
}

async function pump(
  stub: DurableObjectStub<StreamDO>,
  first: ReadOk,
  { clientCursor, requirePublic, read }: SseOptions,
  config: Config,
  textual: boolean,
  writer: WritableStreamDefaultWriter<Uint8Array>,
): Promise<void> {
  const deadline = Date.now() + config.SSE_MAX_DURATION_MS;
  let result = first;
  let cursor = clientCursor;
  try {
    for (let isFirst = true; ; isFirst = false) {
      const closedAtEnd = result.closed && result.upToDate;
      let frame = "";
      const hasData = result.next > result.start;
      if (hasData) frame += dataEvent(result, textual);
      if (hasData || isFirst || closedAtEnd) {
        cursor = closedAtEnd ? cursor : laterCursor(cursor, nextCursor(clientCursor));
        frame += controlEvent(result, closedAtEnd ? undefined : cursor);
      } else {
        // Nothing new: a comment keeps proxies from timing out and reveals a departed client.
        frame += ": keep-alive\n\n";
      }
      await writer.write(encoder.encode(frame));
      if (closedAtEnd || Date.now() >= deadline || read.departed) break;
      const waitMs = Math.max(1, Math.min(config.LONG_POLL_TIMEOUT_MS, deadline - Date.now()));
      const heartbeat = setInterval(() => void writer.write(KEEP_ALIVE).catch(read.release), SSE_HEARTBEAT_MS);
      const next = await stub
        .read({ offset: { kind: "at", position: result.next }, waitMs, requirePublic, live: "sse", readerId: read.readerId })
        .finally(() => clearInterval(heartbeat));
      if (!next.ok || read.departed) break;
      result = next;
    }
  } catch {
    // The client went away (write failed) or the object was reset; either way the stream ends.
    read.release();
  } finally {
    await writer.close().catch(() => undefined);
  }
}

function dataEvent(result: ReadOk, textual: boolean): string {
  const text = textual ? decoder.decode(result.body) : toBase64(result.body);
  const lines = text.split(LINE_BREAK).map((line) => `data:${line}`);
  return `event: data\n${lines.join("\n")}\n\n`;
}

function controlEvent(result: ReadOk, cursor: string | undefined): string {
  const control: Record<string, string | boolean> = { streamNextOffset: formatOffset(result.next) };
  if (cursor !== undefined) control.streamCursor = cursor;
  if (result.upToDate) control.upToDate = true;
  if (result.closed && result.upToDate) control.streamClosed = true;
  return `event: control\ndata:${JSON.stringify(control)}\n\n`;
}

function laterCursor(previous: string | undefined, candidate: string): string {
  return previous !== undefined && /^\d+$/.test(previous) && Number(previous) >= Number(candidate)
    ? String(Number(previous) + 1)
    : candidate;
}
