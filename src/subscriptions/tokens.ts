// Callback tokens: what a webhook receiver or a pull-wake worker presents to call back (callback,
// ack, release). `base64url(payload).base64url(HMAC-SHA256)` with a secret of the subscription's own,
// kept in its SQLite and made afresh when the id is created again. The payload names the
// subscription's incarnation and the wake generation it was issued for (fencing checks both).
import { z } from "zod";

/** Tokens expire after an hour; each claim and wake issues a fresh one. */
export const TOKEN_TTL_MS = 3_600_000;

const PayloadSchema = z.object({ sub: z.string(), inc: z.string(), epoch: z.number().int(), exp: z.number().int() });
export type TokenPayload = z.infer<typeof PayloadSchema>;

export type TokenCheck = { ok: true; epoch: number } | { ok: false; code: "TOKEN_INVALID" | "TOKEN_EXPIRED" };

const encoder = new TextEncoder();

export function newSecret(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

export async function issueToken(secret: string, payload: Omit<TokenPayload, "exp">, now: number): Promise<string> {
  const body = base64url(encoder.encode(JSON.stringify({ ...payload, exp: now + TOKEN_TTL_MS })));
  return `${body}.${base64url(await hmac(secret, body))}`;
}

export async function checkToken(secret: string, token: string, expected: { sub: string; inc: string }, now: number): Promise<TokenCheck> {
  const [body, signature, extra] = token.split(".");
  if (!body || !signature || extra !== undefined || token.length > 1_000) return { ok: false, code: "TOKEN_INVALID" };
  const key = await importKey(secret);
  const given = fromBase64url(signature);
  if (!given || !(await crypto.subtle.verify("HMAC", key, given, encoder.encode(body)))) return { ok: false, code: "TOKEN_INVALID" };
  const bytes = fromBase64url(body);
  let payload: TokenPayload;
  try {
    payload = PayloadSchema.parse(JSON.parse(new TextDecoder().decode(bytes ?? new Uint8Array())));
  } catch {
    return { ok: false, code: "TOKEN_INVALID" };
  }
  if (payload.sub !== expected.sub || payload.inc !== expected.inc) return { ok: false, code: "TOKEN_INVALID" };
  if (now > payload.exp) return { ok: false, code: "TOKEN_EXPIRED" };
  return { ok: true, epoch: payload.epoch };
}

async function importKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

async function hmac(secret: string, body: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await importKey(secret), encoder.encode(body)));
}

export function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return null;
  }
}
