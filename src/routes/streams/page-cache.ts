// The Worker's copy of catch-up pages (caches.default, per data centre), so many readers catching
// up the same stream do not each make the object read the log and send the page.
//
// Only pages that end before the tail are stored: the log is append-only, so such a page never
// changes while the stream lives. It does change when the stream is deleted and created again, and
// the Worker cannot know the current generation without asking (a purge would reach only the local
// data centre). So a hit is served only after the object's readCheck confirms that the page's
// generation is still current; that one constant-size call also applies what every read must
// (existence, expiry, the public check, the TTL slide), and the log is not touched. The check runs
// after requireAccess, so a page reaches only callers the stream would have answered anyway; all of
// them get the same bytes, so one copy serves private and public streams alike.
import type { AppContext } from "../../http/context";
import type { OffsetQuery } from "../../protocol/offsets";

/** Where the generation of a stored page travels; it is removed before the page is served. */
const GENERATION_HEADER = "Page-Generation";
/** Where the page starts: a page stored for offset=-1 is current only while the stream's earliest is there. */
const START_HEADER = "Page-Start";

/**
 * How long a data centre keeps an unread page. Correctness does not depend on it (every hit is
 * checked against the generation): it bounds how long a replay's pages occupy the cache.
 */
const STORED_CACHE_CONTROL = "public, max-age=3600";

/** Says on a response that its body came from the cache, not from the object. */
export const PAGE_CACHE_HEADER = "Stream-Page-Cache";

/** The headers a page is served with; anything else on the stored copy (Age, CF-*) is dropped. */
const PAGE_HEADERS = ["Content-Type", "Stream-Next-Offset", "ETag"];

export interface CachedPage {
  generation: number;
  start: number;
  /** The page's protocol headers (Cache-Control is the caller's to set). */
  headers: Headers;
  body: ArrayBuffer;
}

export class PageCache {
  private readonly key: Request;

  constructor(
    private readonly c: AppContext,
    streamKey: string,
    offset: Exclude<OffsetQuery, { kind: "now" }>,
  ) {
    // A path no route serves, on the request's own host (so the zone's purge by URL reaches it).
    const at = offset.kind === "start" ? "start" : String(offset.position);
    this.key = new Request(`${new URL(c.req.url).origin}/__page-cache/v1/${encodeURIComponent(streamKey)}/${at}`);
  }

  async lookup(): Promise<CachedPage | null> {
    const hit = await caches.default.match(this.key).catch((error: unknown) => {
      console.warn("page cache lookup failed; reading from the stream", error);
      return undefined;
    });
    if (!hit) return null;
    const headers = new Headers();
    for (const name of PAGE_HEADERS) {
      const value = hit.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const start = Number(hit.headers.get(START_HEADER) ?? Number.NaN);
    return { generation: Number(hit.headers.get(GENERATION_HEADER)), start, headers, body: await hit.arrayBuffer() };
  }

  /** Stores a page after the response is sent; `headers` are copied, not kept. */
  store(generation: number, start: number, headers: Headers, body: Uint8Array): void {
    const ctx = executionContext(this.c);
    if (!ctx) return;
    const stored = new Headers({ "Cache-Control": STORED_CACHE_CONTROL });
    for (const name of PAGE_HEADERS) {
      const value = headers.get(name);
      if (value !== null) stored.set(name, value);
    }
    stored.set(GENERATION_HEADER, String(generation));
    stored.set(START_HEADER, String(start));
    const put = caches.default.put(this.key, new Response(body, { headers: stored })).catch((error: unknown) => {
      console.warn("page cache put failed", error);
    });
    ctx.waitUntil(put);
  }
}

/**
 * Without an execution context (the app called directly rather than as a Worker) nothing would
 * finish the put after the response, so the page is not stored.
 */
function executionContext(c: AppContext): { waitUntil(promise: Promise<unknown>): void } | null {
  try {
    return c.executionCtx;
  } catch {
    return null;
  }
}
