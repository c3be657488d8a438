// WebSocket live reads (live=ws) on the Hibernation API. Each socket's whole state (how far it has
// been sent, the stream generation it reads, its token's expiry) is its attachment, so the object
// may be evicted with sockets open: the next commit wakes it, and every socket continues from its
// attachment. Memory holds only what coordinates work in flight. Every change in the number of open
// sockets is passed on (`counted`), for the project's connection totals.
import { z } from "zod";
import { Count } from "../contract/primitives";
import { errorResponse, fail, type Failure } from "../errors";
import { authFrame, CLOSE, errorFrame, frameDataBytes, frameEncoding, MAX_AUTH_FRAME_BYTES, MAX_CLIENT_MESSAGE_BYTES, PING, PONG, renderFrame } from "../protocol/ws-frames";
import { SOCKET_REQUEST_HEADER, SocketRequestSchema, type SocketRequest } from "./commands";
import type { Revoked } from "../projects/token-revocations";
import type { Live, StreamLog } from "./log";
import { renderPayload } from "./payload";
import { authFrameToken, type RefreshGrant, type SocketIdentity } from "./socket-refresh";
import type { StreamMeta } from "./repository";
import { checkRetained, readStart } from "./retention";


/** A socket's attachment (kept well under the platform's 16 KiB). */
const SocketStateSchema = z.object({
  /** Stream position up to which this socket has been sent data. */
  position: Count,
  /** The stream generation it reads: a re-created stream closes it. */
  generation: Count,
  /** Its token's expiry (ms since epoch), or null. */
  expiresAt: z.number().int().nullable(),
  /** The secret that signed its token (closeRevoked), or null: no token, a public read, or an issuer's token. */
  kid: z.string().nullable().default(null),
  /** The reader's user (auth/user.ts), or null; presence and revocation by user read it. */
  user: z.string().nullable().default(null),
  /** The id of the token granting the read (revocation by jti), or null. */
  jti: z.string().nullable().default(null),
  /** It has had its first frame (sent even when there is nothing to catch up on). */
  greeted: z.boolean(),
});
type SocketState = z.infer<typeof SocketStateSchema>;

interface Reader {
  ws: WebSocket;
  state: SocketState;
}

export class LiveSockets {
  private syncing: Promise<void> | null = null;
  private again = false;
  /** The earliest token expiry among open sockets; undefined until computed (after a wake-up). */
  private earliestExpiry: number | null | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly log: StreamLog,
    /** Re-plans the object's alarm (token expiries are one of its tasks). */
    private readonly replan: () => void,
    /** Told the number of open sockets after anything that may have changed it. */
    private readonly counted: (open: number) => void,
    /** The tags a socket is accepted with (presence marks its sockets this way). */
    private readonly tagsFor: (req: SocketRequest) => string[] = () => [],
  ) {
    // Keepalives never wake the object: the runtime answers them from the hibernated state.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
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
    const state: SocketState = { position: start, generation: meta.generation, expiresAt: req.expiresAt, kid: req.kid ?? null, user: req.user ?? null, jti: req.jti ?? null, greeted: false };
    server.serializeAttachment(state);
    // Opening a socket is a read; while it stays open, StreamLog.status slides the TTL.
    this.log.touch(meta, Date.now());
    if (state.expiresAt !== null && this.earliestExpiry !== undefined) {
      this.earliestExpiry = this.earliestExpiry === null ? state.expiresAt : Math.min(this.earliestExpiry, state.expiresAt);
      this.replan();
    }
    this.counted(this.openCount());
    // Catch-up (or the first, empty frame) goes out as soon as the 101 is answered.
    this.wake();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** After every commit (and on accept): brings every socket up to the tail, single flight. */
  wake(): void {
    if (this.ctx.getWebSockets().length === 0) return;
    this.ctx.waitUntil(this.sync());
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
    const before = SocketStateSchema.safeParse(ws.deserializeAttachment());
    if (!before.success) return;
    const grant = await check(before.data, token);
    if (grant.ok && grant.expiresAt === null) return void sendQuietly(ws, authFrame(null));
    if (!grant.ok) {
      closeQuietly(ws, CLOSE.tokenExpired, closeReason(`refresh refused: ${grant.message}`));
      this.counted(this.openCount());
      return;
    }
    // A pass in flight holds attachments read before this point and writes them back whole: let it
    // finish, then rewrite this one from its current state, with nothing awaited in between.
    while (this.syncing) await this.syncing;
    const state = SocketStateSchema.safeParse(ws.deserializeAttachment());
    if (!state.success || ws.readyState !== WebSocket.OPEN) return;
    ws.serializeAttachment({ ...state.data, expiresAt: grant.expiresAt ?? state.data.expiresAt, kid: grant.kid, jti: grant.jti });
    this.earliestExpiry = undefined;
    this.replan();
    sendQuietly(ws, authFrame(grant.expiresAt));
  }

  private sync(): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again);
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const meta = this.log.meta;
    if (!meta || meta.status !== "active") return;
    const now = Date.now();
    // Sockets at the same position get the same frames: each range is read and rendered once.
    const groups = new Map<number, Reader[]>();
    for (const reader of this.readers()) {
      const { ws, state } = reader;
      if (state.generation !== meta.generation) closeQuietly(ws, CLOSE.streamGone, "stream was re-created");
      else if (state.expiresAt !== null && state.expiresAt <= now) closeQuietly(ws, CLOSE.tokenExpired, "token expired");
      else if (state.position < meta.earliest) closeQuietly(ws, CLOSE.trimmed, "data trimmed by retention");
      else if (state.position < meta.tail || !state.greeted || meta.closed) {
        groups.set(state.position, [...(groups.get(state.position) ?? []), reader]);
      }
    }
    for (const [position, readers] of groups) await this.sendFrom(meta, position, readers);
    // A pass closes sockets whose stream closed or was re-created, or whose token expired.
    this.counted(this.openCount());
  }

  /** Sends [position, tail) in frames to readers that all stand at `position`; closes them if the stream is closed. */
  private async sendFrom(meta: StreamMeta, position: number, readers: readonly Reader[]): Promise<void> {
    const encoding = frameEncoding(meta.contentType);
    let from = position;
    for (;;) {
      const gathered = await this.log.reader.gather(meta, from, meta.tail, false, frameDataBytes(encoding));
      if (!gathered.ok) {
        // An unreadable cold segment would otherwise leave the sockets waiting for its bytes forever.
        if (gathered.code === "segment_unavailable") for (const { ws } of readers) closeQuietly(ws, CLOSE.segmentUnavailable, "cold segment unavailable");
        return;
      }
      const upToDate = gathered.next === meta.tail;
      const frame = renderFrame(encoding, { body: renderPayload(meta.contentType, gathered.segments), next: gathered.next, upToDate, closed: meta.closed });
      for (const { ws, state } of readers) {
        if (!sendQuietly(ws, frame)) continue;
        state.position = gathered.next;
        state.greeted = true;
        ws.serializeAttachment(state);
        if (upToDate && meta.closed) closeQuietly(ws, CLOSE.streamClosed, "stream closed");
      }
      // A hole (never expected) must not spin: stop where the read stopped.
      if (upToDate || gathered.next === from) return;
      from = gathered.next;
    }
  }

  private *readers(): Generator<Reader> {
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const state = SocketStateSchema.safeParse(ws.deserializeAttachment());
      if (state.success) yield { ws, state: state.data };
      else closeQuietly(ws, CLOSE.streamGone, "socket state unreadable");
    }
  }
}

function refuse(failure: Failure): Response {
  return errorResponse(failure.code, failure.message, failure.headers, failure.details);
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A socket may close under us at any time (the client left): sending to it is then a no-op. */
function sendQuietly(ws: WebSocket, frame: string): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false;
  }
}

/** A close reason is at most 123 bytes of UTF-8 (RFC 6455): longer ones are cut, not refused. */
function closeReason(text: string): string {
  let reason = text;
  while (new TextEncoder().encode(reason).byteLength > 123) reason = reason.slice(0, -1);
  return reason;
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closing or closed.
  }
}
