// Who a connection is for: the user a verified token names, or, with auth off (local development
// only), the name a WebSocket reader gives itself with `?user=`. With auth on `?user=` is refused
// rather than ignored, so a client that relies on it learns at once that only its token counts.
import { z } from "zod";
import { ApiError } from "../errors";
import type { AppContext } from "../http/context";

/** A user id as auth providers write them ("auth0|42", an email, a UUID): printable, 1-128 characters. */
export const UserIdSchema = z
  .string()
  .min(1)
  .max(128)
  .refine(printable, "a user is 1-128 printable characters");

function printable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

/** The token claim naming the user in the project's own (minted or self-signed HS256) tokens. */
export const USER_CLAIM = "user";

/** The connection's user, or null: from the verified token, else (auth off) from `?user=`. */
export function requestUser(c: AppContext): string | null {
  const caller = c.get("caller");
  const given = c.req.query("user");
  if (caller.kind === "token") {
    if (given !== undefined) throw refusedParameter();
    return caller.principal.user;
  }
  if (caller.kind === "anonymous") {
    if (given !== undefined) throw refusedParameter();
    return null;
  }
  if (given === undefined) return null;
  const parsed = UserIdSchema.safeParse(given);
  if (!parsed.success) throw new ApiError("bad_request", "user= must be 1-128 printable characters");
  return parsed.data;
}

function refusedParameter(): ApiError {
  return new ApiError("bad_request", "user= names a reader only with auth off; with auth on, the token's user is the reader");
}
