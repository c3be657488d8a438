// Webhook delivery: one signed POST of a wake to the subscription's URL, and the backoff between
// failed attempts (the shared schedule of src/backoff.ts, which a receiver's Retry-After may
// lengthen). The receiver may answer `{"done": true}` to finish the wake at once.
import { backoffMs, retryAfterMs, type Backoff } from "../backoff";
import type { Env } from "../env";
import { describeAnswer, describeFetchFailure } from "../fetch-failure";
import { signatureHeader } from "./signing";

/** A receiver gets this long to answer; longer counts as a failed attempt. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/**
 * Retry backoff: 1 s doubling to 60 s, less up to a fifth of each step at random so receivers are
 * not hit in step; a receiver's Retry-After may lengthen a wait up to an hour.
 */
const WEBHOOK_BACKOFF: Backoff = { baseMs: 1_000, capMs: 60_000, jitter: 0.2, retryAfterCapMs: 60 * 60_000 };
/**
 * A wake is given up after this many failed attempts in a row: about 6 minutes of retrying on the
 * schedule above (longer if the receiver asks for more), enough to ride out a deploy or a restart,
 * short enough that a receiver that is down for good is left alone until new data arrives.
 */
export const WEBHOOK_MAX_ATTEMPTS = 12;
/** Only this much of a receiver's answer is read (it is at most `{"done": true}`). */
const MAX_ANSWER_BYTES = 4_096;

export type DeliveryResult = { ok: true; done: boolean } | { ok: false; error: string; retryAfterMs: number | null };

export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export async function postWake(env: Env, url: string, body: string, now: number, fetcher: Fetcher = (target, init) => fetch(target, init)): Promise<DeliveryResult> {
  let signature: string;
  try {
    signature = await signatureHeader(env, body, now);
  } catch (error) {
    // Our own failure (the signing key could not be had), never the receiver's: said as such.
    return { ok: false, error: `signing the wake failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500), retryAfterMs: null };
  }
  try {
    const response = await fetcher(url, {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-signature": signature },
      body,
      // A redirect could lead to an address the URL check refused: it counts as a failure.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    const text = await readCapped(response);
    if (!response.ok) return { ok: false, error: describeAnswer(response.status), retryAfterMs: retryAfterMs(response.headers.get("retry-after"), Date.now()) };
    return { ok: true, done: saysDone(text) };
  } catch (error) {
    return { ok: false, error: describeFetchFailure(error, url, DELIVERY_TIMEOUT_MS), retryAfterMs: null };
  }
}

/** The wait after `attempts` failed attempts in a row; a receiver's Retry-After only lengthens it. */
export function retryDelay(attempts: number, retryAfter: number | null = null): number {
  return backoffMs(WEBHOOK_BACKOFF, attempts, retryAfter);
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < MAX_ANSWER_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => undefined);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(bytes.subarray(0, MAX_ANSWER_BYTES));
}

function saysDone(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && "done" in value && value.done === true;
  } catch {
    return false;
  }
}
