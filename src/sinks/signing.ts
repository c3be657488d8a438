// Standard Webhooks signing for sinks: each request carries `webhook-id`, `webhook-timestamp` and
// `webhook-signature: v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`, keyed by the bytes
// the sink's secret (`whsec_<base64>`) encodes. Receivers verify with any Standard Webhooks library.
import { concatBytes, toBase64 } from "../bytes";

const SECRET_PREFIX = "whsec_";
/** 32 random bytes: the HMAC-SHA256 block size makes longer keys pointless, shorter ones weaker. */
const SECRET_BYTES = 32;

export function newSinkSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/**
 * The batch's `webhook-id`: derived from the sink's incarnation, the source's generation and the
 * batch's source range, so it is the same on every retry of that batch (receivers drop repeats by
 * it) and never reused for other bytes: a sink created again under the same id gets a new
 * incarnation, and the same range of a source created again is another generation.
 */
export async function webhookId(incarnation: string, generation: number, from: number, to: number): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${incarnation}:${generation}:${from}:${to}`));
  const hex = [...new Uint8Array(digest).subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `msg_${hex}`;
}

/** A batch's webhook-id; a gap notice's has a `_gap` suffix, so it never equals a data batch's over the same range. */
export async function batchWebhookId(sink: { incarnation: string; sourceGeneration: number }, batch: { from: number; to: number; gap?: unknown }): Promise<string> {
  const id = await webhookId(sink.incarnation, sink.sourceGeneration, batch.from, batch.to);
  return batch.gap ? `${id}_gap` : id;
}

export async function signatureHeaders(secret: string, id: string, now: number, body: Uint8Array): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now / 1000));
  const keyBytes = Uint8Array.from(atob(secret.slice(SECRET_PREFIX.length)), (char) => char.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signed = concatBytes([new TextEncoder().encode(`${id}.${timestamp}.`), body]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, signed));
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${toBase64(signature)}` };
}
