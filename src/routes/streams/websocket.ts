// GET /v1/stream/{project}/{stream}?offset=...&live=ws with Upgrade: websocket: a live read over a
// hibernatable WebSocket (read scope, or none on a public stream). Everything the Worker can check
// (path, offset syntax, token, Origin, rate limit) is checked here, so a bad upgrade gets the usual
// JSON error and never reaches the object; the object checks the stream itself and answers 101.
import type { Access } from "../../auth/access";
import { enforceRateLimit } from "../../auth/rate-limit";
import { requestUser } from "../../auth/user";
import { loadConfig } from "../../config";
import { streamStub } from "../../stream/stub";
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { originAllowed } from "../../http/security";
import { SOCKET_REQUEST_HEADER, type SocketRequest } from "../../stream/commands";
import type { ReadQuery } from "./headers";
import { presenceRequested } from "../presence/join";

export async function openWebSocket(c: AppContext, query: ReadQuery, access: Access): Promise<Response> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("upgrade_required", "live=ws needs a WebSocket upgrade (Upgrade: websocket)", { Upgrade: "websocket" });
  }
  const address = c.get("address");
  // Browsers send their page's Origin on every upgrade: another site's page cannot ride a user's token.
  const origin = c.req.header("Origin");
  if (origin !== undefined && !(await originAllowed(c, origin))) {
    throw new ApiError("forbidden", "this Origin is not among the project's corsOrigins");
  }
  await enforceRateLimit(c, "upgrade", address.project);

  const user = requestUser(c);
  const presence = presenceRequested(c, user);
  const caller = c.get("caller");
  const granted = caller.kind === "token" && access.kind === "granted" ? caller.principal : null;
  const socket: SocketRequest = {
    offset: query.offset,
    requirePublic: access.kind === "public-only",
    expiresAt: caller.kind === "token" ? caller.principal.expiresAt : null,
    // A public read is not granted by the token, so revoking its secret leaves the socket be.
    kid: granted?.kid ?? null,
    jti: granted?.jti ?? null,
    user,
    maxSockets: loadConfig(c.env).WS_MAX_PER_STREAM,
    presence,
    info: presence && caller.kind === "token" ? caller.principal.info : null,
  };
  const forwarded = new Request(c.req.url, { headers: { Upgrade: "websocket", [SOCKET_REQUEST_HEADER]: JSON.stringify(socket) } });
  const answer = await streamStub(c.env, address.key).fetch(forwarded);
  if (answer.webSocket) return new Response(null, { status: 101, webSocket: answer.webSocket });
  // A refusal (JSON error) from the object. A stream that turned out not to be public is refused
  // with the caller's own denial, as for other reads.
  if (answer.status === 401 && access.kind === "public-only") throw access.denial;
  return new Response(answer.body, answer);
}
