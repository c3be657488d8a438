// `?presence=true` on a WebSocket upgrade (live=ws): the reader is present on the stream as its
// user while the socket is open. Presence needs a user: the token's, or with auth off `?user=`.
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { parseOr400 } from "../../validation";
import { PresenceParam } from "./schemas";

export function presenceRequested(c: AppContext, user: string | null): boolean {
  const values = c.req.queries("presence") ?? [];
  if (values.length > 1) throw new ApiError("bad_request", "presence may be given only once");
  if (values[0] === undefined || !parseOr400(PresenceParam, values[0], "presence")) return false;
  if (user === null) {
    throw new ApiError("bad_request", "presence=true needs a user: a token naming one (claim user, or an issuer's userClaim), or with auth off ?user=");
  }
  return true;
}
