// Webhook delivery: one signed POST of a wake to the subscription's URL, and the backoff between
// failed attempts. The receiver may answer `{"done": true}` to finish the wake at once.
import type { Env } from "../env";
import { signatureHeader } from "./signing";

/** A receiver gets this long to answer; longer counts as a failed attempt. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Retry backoff: 1 s doubling to 60 s, with +-20% jitter so receivers are not hit in step. */
const RETRY_BASE_MS = 1_000;
const RETRY_CAP_MS = 60_000;
/** Only this much of a receiver's answer is read (it is at most `{"done": true}`). */
const MAX_ANSWER_BYTES = 4_096;

export type DeliveryResult = { ok: true; done: boolean } | { ok: false; error: string };

export async function postWake(env: Env, url: string, body: string, now: number): Promise<DeliveryResult> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-signature": await signatureHeader(env, body, now) },
      body,
      // A redirect could lead to an address the URL check refused: it counts as a failure.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    const text = await readCapped(response);
    if (!response.ok) return { ok: false, error: `receiver answered ${response.status}` };
    return { ok: true, done: saysDone(text) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

export function retryDelay(attempts: number): number {
  const base = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 16));
  return Math.round(base + base * 0.2 * (Math.random() * 2 - 1));
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
