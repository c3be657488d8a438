// WebSocket live reads (live=ws) on the Hibernation API. Each socket's whole state (how far it has
// been sent, the stream generation it reads, its token's expiry) is its attachment, or its
// attachment and the mark another socket's attachment holds (socket-positions.ts), so the object
// may be evicted with sockets open: the next event wakes it, and every socket continues from where
// it stands. Sending happens inside the append's event for a few sockets and after it answered for
// many (socket-broadcast.ts). Every change in the number of open sockets is passed on (`counted`),
// for the project's connection totals.
import { errorResponse, fail, type Failure } from "../errors";
import type { Revoked } from "../projects/token-revocations";
import { authFrame, CLOSE, errorFrame, MAX_AUTH_FRAME_BYTES, MAX_CLIENT_MESSAGE_BYTES, PING, PONG } from "../protocol/ws-frames";
import { SOCKET_REQUEST_HEADER, SocketRequestSchema, type SocketRequest } from "./commands";
import type { Live, StreamLog } from "./log";
import { checkRetained, readStart } from "./retention";
import { SocketBroadcast } from "./socket-broadcast";
import { closeQuietly, sendQuietly } from "./socket-io";
import { type Reader, SocketPositions } from "./socket-positions";
import { authFrameToken, type RefreshGrant, type SocketIdentity } from "./socket-refresh";

export class LiveSockets {
  private readonly positions: SocketPositions;
  private readonly broadcast: SocketBroadcast;
  /** The earliest token expiry among open sockets; undefined until computed (after a wake-up). */
  private earliestExpiry: number | null | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly log: StreamLog,
    /** Re-plans the object's alarm (token expiries are one of its tasks). */
    private readonly replan: () => void,
    /** Told the number of open sockets after anything that may have changed it. */
    private readonly counted: (open: number) => void,
    /** WS_INLINE_BROADCAST_MAX: up to this many sockets, frames go out inside the append's event. */
    inlineMax: number,
    /** The tags a socket is accepted with (presence marks its sockets this way). */
    private readonly tagsFor: (req: SocketRequest) => string[] = () => [],
  ) {
    // Keepalives never wake the object: the runtime answers them from the hibernated state.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    this.positions = new SocketPositions(ctx);
    this.broadcast = new SocketBroadcast(ctx, log, this.positions, inlineMax, counted);
  }

  /** Accepts an upgrade forwarded by the Worker, or answers why not (the usual JSON error). */
  accept(request: Request, live: Live): Response {
    const parsed = SocketRequestSchema.safeParse(parseJson(request.headers.get(SOCKET_REQUEST_HEADER)));
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !parsed.success) {
      return refuse(fail("bad_request", "expected a WebSocket upgrade forwarded by the Worker"));
    }
    const req = parsed.data;
    if (req.requirePublic && !(live.ok && live.meta.public)) {
      return refuse(fail("unauthorized", "a token is required to read this stream", { "WWW-Authenticate": 'Bearer realm="streams"' }));
    }
    if (!live.ok) return refuse(live);
    const meta = live.meta;
    const start = readStart(meta, req.offset);
    if (start > meta.tail) return refuse(fail("bad_request", "offset is beyond the end of the stream"));
    const trimmed = checkRetained(meta, start);
    if (trimmed) return refuse(trimmed);
    if (!this.log.reader.isReadBoundary(meta, start)) return refuse(fail("bad_request", "offset is not a message boundary"));
    if (this.count() >= req.maxSockets) {
      return refuse(fail("too_many_sockets", `a stream may have at most ${req.maxSockets} open WebSockets`));
    }

    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, this.tagsFor(req));
    const state = { position: start, generation: meta.generation, expiresAt: req.expiresAt, kid: req.kid ?? null, user: req.user ?? null, jti: req.jti ?? null, greeted: false };
    this.positions.add(server, state);
    // Opening a socket is a read; while it stays open, StreamLog.status slides the TTL.
    this.log.touch(meta, Date.now());
    if (state.expiresAt !== null && this.earliestExpiry !== undefined) {
      this.earliestExpiry = this.earliestExpiry === null ? state.expiresAt : Math.min(this.earliestExpiry, state.expiresAt);
      this.replan();
    }
    this.counted(this.openCount());
    // Catch-up (or the first, empty frame) goes out once the 101 is answered.
    this.broadcast.wake();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** After every commit: every socket is brought up to the tail. */
  wake(): void {
    this.broadcast.wake();
  }

  /** The instance started (the stream loaded): sockets a cut-short pass left behind continue. */
  started(): void {
    const meta = this.log.meta;
    if (meta) this.positions.started(meta.tail, meta.generation);
    this.broadcast.wake();
  }

  count(): number {
    return this.ctx.getWebSockets().length;
  }

  /** Whether any socket is open: a live reader keeps the stream alive (StreamLog.status). */
  anyOpen(): boolean {
    for (const ws of this.ctx.getWebSockets()) if (ws.readyState === WebSocket.OPEN) return true;
    return false;
  }

  /** Sockets still open (closing ones, and `leaving`, whose close is being handled, are not). */
  openCount(leaving?: WebSocket): number {
    let open = 0;
    for (const ws of this.ctx.getWebSockets()) if (ws !== leaving && ws.readyState === WebSocket.OPEN) open++;
    return open;
  }

  /** The client closed the socket, or it failed (webSocketClose / webSocketError). */
  onClose(ws: WebSocket): void {
    this.positions.leaving(ws);
    closeQuietly(ws, 1000, "closed by the client"); // The Hibernation API does not answer a client's Close frame itself.
    this.counted(this.openCount(ws));
  }

  /** The stream went away (deleted, expired): its sockets close with a code saying so. */
  closeAll(code: number, reason: string): void {
    for (const ws of this.ctx.getWebSockets()) closeQuietly(ws, code, reason);
    this.earliestExpiry = null;
    this.counted(this.openCount());
  }

  /** An alarm task: when the next token expires. */
  nextExpiry(): number | null {
    if (this.earliestExpiry === undefined) {
      let earliest: number | null = null;
      for (const { state } of this.readers()) {
        if (state.expiresAt !== null && (earliest === null || state.expiresAt < earliest)) earliest = state.expiresAt;
      }
      this.earliestExpiry = earliest;
    }
    return this.earliestExpiry;
  }

  /** Closes the sockets whose token has expired (the alarm, and every sync, call this). */
  expireTokens(now: number): void {
    for (const { ws, state } of this.readers()) {
      if (state.expiresAt !== null && state.expiresAt <= now) closeQuietly(ws, CLOSE.tokenExpired, "token expired");
    }
    this.earliestExpiry = undefined;
    this.counted(this.openCount());
  }

  /** The project revoked the secret, token (jti) or user these sockets were opened with: they end as if expired (4401). */
  closeRevoked(target: Revoked): void {
    for (const { ws, state } of this.readers()) if (state[target.kind] === target.value) closeQuietly(ws, CLOSE.tokenExpired, "token revoked");
    this.counted(this.openCount());
  }

  /**
   * Clients send PING (answered by the runtime) and token refreshes (socket-refresh.ts); anything
   * else gets an error frame, or a close if large.
   */
  async onMessage(ws: WebSocket, message: string | ArrayBuffer, check: (socket: SocketIdentity, token: string) => Promise<RefreshGrant>): Promise<void> {
    const size = typeof message === "string" ? new TextEncoder().encode(message).byteLength : message.byteLength;
    const token = size <= MAX_AUTH_FRAME_BYTES ? authFrameToken(message) : null;
    if (token !== null) return this.refresh(ws, token, check);
    if (size > MAX_CLIENT_MESSAGE_BYTES) {
      closeQuietly(ws, CLOSE.messageTooBig, `client messages are at most ${MAX_CLIENT_MESSAGE_BYTES} bytes`);
      this.counted(this.openCount());
      return;
    }
    sendQuietly(ws, errorFrame(`the server reads only "${PING}" (answered "${PONG}"); this socket only receives`));
  }

  /** Moves the socket's expiry to the new token's, or closes it (4401) when the refresh is refused. */
  private async refresh(ws: WebSocket, token: string, check: (socket: SocketIdentity, token: string) => Promise<RefreshGrant>): Promise<void> {
    const before = this.positions.stateOf(ws);
    if (!before) return;
    const grant = await check(before, token);
    if (grant.ok && grant.expiresAt === null) return void sendQuietly(ws, authFrame(null));
    if (!grant.ok) {
      closeQuietly(ws, CLOSE.tokenExpired, closeReason(`refresh refused: ${grant.message}`));
      this.counted(this.openCount());
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    this.positions.refreshed(ws, { expiresAt: grant.expiresAt ?? before.expiresAt, kid: grant.kid, jti: grant.jti });
    this.earliestExpiry = undefined;
    this.replan();
    sendQuietly(ws, authFrame(grant.expiresAt));
  }

  private readers(): Reader[] {
    return this.positions.open();
  }
}

function refuse(failure: Failure): Response {
  return errorResponse(failure.code, failure.message, failure.headers, failure.details);
}

/** A close reason is at most 123 bytes of UTF-8 (RFC 6455): longer ones are cut, not refused. */
function closeReason(text: string): string {
  let reason = text;
  while (new TextEncoder().encode(reason).byteLength > 123) reason = reason.slice(0, -1);
  return reason;
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
