// The public keys of a project's issuers, fetched from their JWKS URLs and cached per isolate.
// A JWKS is fetched under the webhook URL rules (https to public addresses; loopback over http only
// with WEBHOOK_ALLOW_LOOPBACK on), without following redirects (a redirect could lead anywhere),
// with a time limit and a size limit. Its Cache-Control max-age is honoured within bounds. A kid the
// cached copy lacks (the issuer rotated) refetches, at most once per REFETCH_GAP_MS. A fetch that
// fails never fails the request with a 5xx: the caller gets a failure to answer 401 with, and a
// cached copy, however old, keeps working meanwhile.
import { z } from "zod";
import { checkWebhookUrl } from "../http/outbound-url";

/** Without a max-age, a JWKS is trusted this long. */
const DEFAULT_MAX_AGE_MS = 10 * 60_000;
/** A max-age (or no-store) below this is raised to it, so one busy issuer is not fetched per request. */
const MIN_MAX_AGE_MS = 60_000;
/** A max-age above this is cut to it, so a key the issuer withdrew stops working within a day. */
const MAX_MAX_AGE_MS = 24 * 3_600_000;
/** An unknown kid, or a failed fetch, refetches no sooner than this after the last attempt. */
export const REFETCH_GAP_MS = 5_000;
/** An issuer that answers slower than this is treated as down. */
const FETCH_TIMEOUT_MS = 5_000;
/** Real JWKS are a few KiB; anything far larger is not a key set. */
const MAX_JWKS_BYTES = 64 * 1024;
const MAX_KEYS = 100;
/** Bounds memory if many issuers are configured across projects. */
const MAX_ENTRIES = 1_000;

const JwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional() })).max(MAX_KEYS) });
export type Jwk = z.infer<typeof JwksSchema>["keys"][number];

interface Entry {
  keys: Jwk[] | null;
  freshUntil: number;
  /** When the last fetch ended, ok or not: the next waits REFETCH_GAP_MS from here. */
  lastAttempt: number;
  lastError: string | null;
}

const cache = new Map<string, Entry>();

export type KeyLookup = { ok: true; key: Jwk } | { ok: false; message: string };

/** The key `kid` of the JWKS at `url`, fetching or refetching it as the rules above allow. */
export async function jwksKey(url: string, kid: string, allowLoopback: boolean, now = Date.now()): Promise<KeyLookup> {
  let entry = cache.get(url);
  const stale = !entry || entry.keys === null || now >= entry.freshUntil;
  const missing = !entry?.keys?.some((key) => key.kid === kid);
  if ((stale || missing) && (!entry || now - entry.lastAttempt >= REFETCH_GAP_MS)) {
    entry = await refresh(url, allowLoopback);
  }
  const key = entry?.keys?.find((candidate) => candidate.kid === kid);
  if (key) return { ok: true, key };
  if (entry?.keys) return { ok: false, message: `the issuer's JWKS has no key with kid ${JSON.stringify(kid)}` };
  return { ok: false, message: `the issuer's keys could not be fetched (${entry?.lastError ?? "not fetched yet"}); try again shortly` };
}

/**
 * Fetches in the calling request: a promise shared with other requests would outlive the request
 * that made it, which Workers do not allow. Requests arriving together on a cold isolate may each
 * fetch once; after that the gap holds. The entry keeps its old keys if the fetch fails.
 */
async function refresh(url: string, allowLoopback: boolean): Promise<Entry> {
  let entry = cache.get(url);
  if (!entry) {
    if (cache.size >= MAX_ENTRIES) cache.clear();
    entry = { keys: null, freshUntil: 0, lastAttempt: 0, lastError: null };
    cache.set(url, entry);
  }
  try {
    const fetched = await fetchJwks(url, allowLoopback);
    entry.keys = fetched.keys;
    entry.freshUntil = Date.now() + fetched.maxAgeMs;
    entry.lastError = null;
  } catch (error) {
    entry.lastError = error instanceof Error ? error.message : String(error);
    console.warn(`fetching the JWKS at ${url} failed: ${entry.lastError}`);
  }
  entry.lastAttempt = Date.now();
  return entry;
}

async function fetchJwks(url: string, allowLoopback: boolean): Promise<{ keys: Jwk[]; maxAgeMs: number }> {
  // Checked again at every fetch: WEBHOOK_ALLOW_LOOPBACK may have been turned off since.
  const checked = checkWebhookUrl(url, allowLoopback, "jwksUrl");
  if (!checked.ok) throw new Error(checked.message);
  const response = await fetch(checked.url, { redirect: "manual", headers: { Accept: "application/json" }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new Error(`the JWKS URL answered ${response.status}`);
  }
  const text = await response.text();
  if (text.length > MAX_JWKS_BYTES) throw new Error(`the JWKS is larger than ${MAX_JWKS_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error("the JWKS is not JSON");
  }
  const parsed = JwksSchema.safeParse(body);
  if (!parsed.success) throw new Error(`the JWKS is not {"keys": [...]} with at most ${MAX_KEYS} keys`);
  return { keys: parsed.data.keys, maxAgeMs: maxAge(response.headers.get("Cache-Control")) };
}

/** The issuer's Cache-Control max-age, within [MIN_MAX_AGE_MS, MAX_MAX_AGE_MS]. */
export function maxAge(cacheControl: string | null): number {
  if (cacheControl === null) return DEFAULT_MAX_AGE_MS;
  if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(cacheControl)) return MIN_MAX_AGE_MS;
  const seconds = /(?:^|,)\s*max-age\s*=\s*"?(\d{1,10})"?/i.exec(cacheControl)?.[1];
  if (seconds === undefined) return DEFAULT_MAX_AGE_MS;
  return Math.min(MAX_MAX_AGE_MS, Math.max(MIN_MAX_AGE_MS, Number(seconds) * 1000));
}

/** Forgets every cached JWKS (tests). */
export function clearJwksCache(): void {
  cache.clear();
}
