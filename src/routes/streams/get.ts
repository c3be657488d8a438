// GET /v1/stream/{project}/{stream}: catch-up, long-poll (?live=long-poll), SSE (?live=sse) and
// WebSocket (?live=ws, websocket.ts) reads. Read scope, or none on a public stream.
import type { AppContext } from "../../http/context";
import { requireAccess } from "../../auth/access";
import { loadConfig } from "../../config";
import { streamStub } from "../../stream/stub";
import { nextCursor } from "../../protocol/cursor";
import { parseReadQuery } from "./headers";
import { denyPrivate, orThrow, streamHeaders } from "./response";
import { liveRead } from "./departure";
import { sseResponse } from "./sse";
import { openWebSocket } from "./websocket";

/** Immutable ranges may be cached briefly; the tail must be revalidated (ETag makes that cheap). */
const CACHE_RANGE = "public, max-age=60, stale-while-revalidate=300";
const CACHE_TAIL = "no-cache";

export async function readStream(c: AppContext): Promise<Response> {
  const address = c.get("address");
  const access = requireAccess(c, address, "read");
  const requirePublic = access.kind === "public-only";
  const orDeny = <R extends { ok: boolean }>(result: R) => orThrow(denyPrivate(result, access));
  const query = parseReadQuery(new URL(c.req.url));
  const stub = streamStub(c.env, address.key);
  const config = loadConfig(c.env);

  if (query.live === "ws") return openWebSocket(c, query, access);

  if (query.live === "sse") {
    // Fail before committing to a 200 event stream if the stream is missing or the offset is bad.
    const first = orDeny(await stub.read({ offset: query.offset, waitMs: 0, requirePublic, live: "sse" }));
    return sseResponse(stub, first, { clientCursor: query.cursor, requirePublic, read: liveRead(c, stub) }, config);
  }

  const longPoll = query.live === "long-poll";
  const waitMs = longPoll ? config.LONG_POLL_TIMEOUT_MS : 0;
  const readerId = longPoll ? liveRead(c, stub).readerId : undefined;
  const result = orDeny(await stub.read({ offset: query.offset, waitMs, requirePublic, live: longPoll ? "long-poll" : undefined, readerId }));
  const headers = streamHeaders({ contentType: result.contentType, closed: result.closed && result.upToDate }, result.next);
  if (result.upToDate) headers.set("Stream-Up-To-Date", "true");

  if (longPoll) {
    headers.set("Stream-Cursor", nextCursor(query.cursor));
    if (result.next === result.start) {
      headers.set("Cache-Control", "no-store");
      return new Response(null, { status: 204, headers });
    }
  }

  if (query.now) {
    headers.set("Cache-Control", "no-store");
  } else {
    const closedMark = result.closed && result.upToDate ? ":c" : "";
    const etag = `"${result.generation}:${result.start}:${result.next}${closedMark}"`;
    headers.set("ETag", etag);
    headers.set("Cache-Control", result.upToDate ? CACHE_TAIL : CACHE_RANGE);
    if (c.req.header("If-None-Match") === etag) return new Response(null, { status: 304, headers });
  }
  return new Response(result.body, { status: 200, headers });
}
