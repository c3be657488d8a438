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
import { PAGE_CACHE_HEADER, PageCache } from "./page-cache";

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

  // Catch-up reads may be answered from the Worker's cache (page-cache.ts); live ones never are.
  const pages = query.live === undefined && query.offset.kind !== "now" ? new PageCache(c, address.key, query.offset) : null;
  const page = pages && (await pages.lookup());
  if (page) {
    // A page of a trimmed offset answers 410 (readCheck); one stored for -1 is stale once the earliest moved.
    const position = query.offset.kind === "at" ? query.offset.position : undefined;
    const check = orDeny(await stub.readCheck({ requirePublic, position }));
    if (check.generation === page.generation && (position !== undefined || page.start === check.earliest)) {
      page.headers.set("Cache-Control", CACHE_RANGE);
      page.headers.set(PAGE_CACHE_HEADER, "hit");
      return conditional(c, page.headers, page.body);
    }
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
    return new Response(result.body, { status: 200, headers });
  }
  const closedMark = result.closed && result.upToDate ? ":c" : "";
  headers.set("ETag", `"${result.generation}:${result.start}:${result.next}${closedMark}"`);
  headers.set("Cache-Control", result.upToDate ? CACHE_TAIL : CACHE_RANGE);
  // A page that ends before the tail never changes while this generation lives.
  if (pages && !result.upToDate) pages.store(result.generation, result.start, headers, result.body);
  return conditional(c, headers, result.body);
}

/** 304 when the client already holds this page (If-None-Match), else the page. */
function conditional(c: AppContext, headers: Headers, body: BodyInit): Response {
  if (c.req.header("If-None-Match") === headers.get("ETag")) return new Response(null, { status: 304, headers });
  return new Response(body, { status: 200, headers });
}
