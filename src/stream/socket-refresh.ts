// A WebSocket's token refresh: the client sends {"type":"auth","token":"<jwt>"} before its token
// expires, and the socket's expiry moves to the new token's. The new token is verified by the one
// verifier of every request (auth/verify.ts: signature, issuer, revocations) and must be for the
// same project and the same user, and still grant read on this stream (the one coverage rule,
// auth/access.ts tokenDenial). A socket reads one stream, so "the same streams or fewer" comes down
// to that: what else the new token covers does not matter here. A public stream's reader needs no
// coverage, as when it opened. A socket opened without a token (auth off, or an anonymous reader of
// a public stream) has nothing to refresh: the frame is acknowledged and changes nothing, so a
// client written for auth on also runs against a local server with auth off.
import { z } from "zod";
import { tokenDenial } from "../auth/access";
import { MAX_TOKEN_LENGTH } from "../auth/token";
import { verifyBearer } from "../auth/verify";
import type { Env } from "../env";
import { parseAddress } from "../protocol/stream-address";

const AuthFrameSchema = z.strictObject({ type: z.literal("auth"), token: z.string().min(1).max(MAX_TOKEN_LENGTH) });

/** The token of an auth frame, or null if the message is something else. */
export function authFrameToken(message: string | ArrayBuffer): string | null {
  if (typeof message !== "string" || !message.startsWith("{")) return null;
  try {
    const parsed = AuthFrameSchema.safeParse(JSON.parse(message));
    return parsed.success ? parsed.data.token : null;
  } catch {
    return null;
  }
}

/** What the socket holds now: its user, and its expiry (null: opened without a token). */
export interface SocketIdentity {
  user: string | null;
  expiresAt: number | null;
}

export type RefreshGrant = { ok: true; expiresAt: number | null; kid: string | null; jti: string | null } | { ok: false; message: string };

/** `streamKey`: the stream's object name ("project/stream"); `isPublic`: whether it is a public stream. */
export async function checkRefresh(env: Env, streamKey: string, isPublic: boolean, socket: SocketIdentity, token: string): Promise<RefreshGrant> {
  if (socket.expiresAt === null) return { ok: true, expiresAt: null, kid: null, jti: null };
  const address = parseAddress(streamKey);
  const principal = await verifyBearer(env, token, address.project);
  if ("ok" in principal) return { ok: false, message: principal.message };
  if (principal.project !== address.project) return { ok: false, message: "the new token is for another project" };
  if (principal.user !== socket.user) return { ok: false, message: "the new token is for another user" };
  const denial = tokenDenial(principal, address, "read");
  if (denial && !isPublic) return { ok: false, message: denial.message };
  // As at open: a public read is not granted by the token, so revoking its secret or id leaves it be.
  return { ok: true, expiresAt: principal.expiresAt, kid: denial ? null : principal.kid, jti: denial ? null : principal.jti };
}
