// Where each WebSocket stands, kept so that an append costs one walk over the sockets, no SQLite row
// and almost no attachment writes. A socket's attachment (which survives hibernation) either names
// its own position, or says "at the mark": the position every caught-up socket shares. The mark is
// not a row: it lives in the attachment of ONE of the sockets at the mark (the anchor), so moving
// every caught-up socket to a new tail rewrites one attachment. Only sockets that stand elsewhere
// (catching up, or new) carry a position of their own. Attachments are parsed once per socket per
// object instance; the parsed state is cached in memory, keyed by the WebSocket.
import { z } from "zod";
import { Count } from "../contract/primitives";
import { CLOSE } from "../protocol/ws-frames";
import { closeQuietly } from "./socket-io";

/** A socket's attachment (kept well under the platform's 16 KiB). */
const AttachmentSchema = z.object({
  /** Stream position up to which this socket has been sent data; null: the mark's position. */
  position: Count.nullable(),
  /** Only on the anchor: the mark's position (for every socket of its generation at the mark). */
  mark: Count.optional(),
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

export interface SocketState {
  /** Always resolved: a socket at the mark holds the mark's position here. */
  position: number;
  generation: number;
  expiresAt: number | null;
  kid: string | null;
  user: string | null;
  jti: string | null;
  greeted: boolean;
  /** Its attachment says "at the mark" (so it moves when the mark moves, unwritten). */
  atMark: boolean;
}

export interface Reader {
  ws: WebSocket;
  state: SocketState;
}

interface Mark {
  position: number;
  /** The socket whose attachment holds the mark, or null: no socket stands at it yet. */
  anchor: WebSocket | null;
}

export class SocketPositions {
  private readonly cache = new WeakMap<WebSocket, SocketState>();
  /** The mark of each generation with sockets (one, unless a re-created stream's old sockets linger). */
  private readonly marks = new Map<number, Mark>();

  /**
   * The stream's tail and generation when this instance started. The runtime keeps sockets across
   * an eviction only when the object is idle, so no pass was pending then: a socket at the mark
   * stood at that tail, unless a pass was cut short (and `materialise` wrote those positions). It
   * stands in for a mark whose anchor left while the object was hibernating.
   */
  private startedAt: { tail: number; generation: number } | null = null;

  constructor(private readonly ctx: DurableObjectState) {}

  /** The instance started with the stream at `tail` (before any commit of its own). */
  started(tail: number, generation: number): void {
    this.startedAt = { tail, generation };
  }

  /** A socket just accepted: it stands where its offset said. */
  add(ws: WebSocket, state: Omit<SocketState, "atMark">): void {
    const full: SocketState = { ...state, atMark: false };
    this.cache.set(ws, full);
    this.persist(ws, full);
  }

  /**
   * Every open socket with its state, in one walk (two on the first call of an instance: the mark
   * must be found before the sockets at it are resolved). A socket whose attachment cannot be read,
   * or that stands at a mark no open socket holds, is closed: 1012 tells its client to resume.
   */
  open(): Reader[] {
    const readers: Reader[] = [];
    const unresolved: { ws: WebSocket; attachment: z.infer<typeof AttachmentSchema> }[] = [];
    for (const ws of this.ctx.getWebSockets()) {
      const isOpen = ws.readyState === WebSocket.OPEN;
      const cached = this.cache.get(ws);
      if (cached) {
        if (isOpen) readers.push({ ws, state: cached });
        continue;
      }
      const parsed = AttachmentSchema.safeParse(ws.deserializeAttachment());
      if (!parsed.success) {
        if (isOpen) closeQuietly(ws, CLOSE.streamGone, "socket state unreadable");
        continue;
      }
      const attachment = parsed.data;
      // A closing anchor still says where the mark is (its client may have left while the object
      // was hibernating): read it, then hand the mark to a socket that stays.
      if (attachment.mark !== undefined) {
        const known = this.marks.get(attachment.generation);
        // The mark only moves forward: an older anchor that is still listed holds an older copy.
        if (!known || known.position < attachment.mark) this.marks.set(attachment.generation, { position: attachment.mark, anchor: isOpen ? ws : null });
      }
      if (isOpen) unresolved.push({ ws, attachment });
    }
    const started = this.startedAt;
    if (started && unresolved.length > 0 && !this.marks.has(started.generation)) this.marks.set(started.generation, { position: started.tail, anchor: null });
    for (const { ws, attachment } of unresolved) {
      const { position, mark: _mark, ...rest } = attachment;
      const mark = this.marks.get(attachment.generation);
      const resolved = position ?? mark?.position;
      if (resolved === undefined) {
        closeQuietly(ws, CLOSE.resume, "position lost: resume from your last streamNextOffset");
        continue;
      }
      const state: SocketState = { ...rest, position: resolved, atMark: position === null };
      this.cache.set(ws, state);
      readers.push({ ws, state });
      if (state.atMark && mark && mark.anchor === null) {
        mark.anchor = ws;
        this.persist(ws, state);
      }
    }
    return readers;
  }

  /** Where the sockets of `generation` at the mark stand, or null if none does. */
  markOf(generation: number): number | null {
    return this.marks.get(generation)?.position ?? null;
  }

  /**
   * Frames up to `position` went to `sent`, all at the mark: the mark moves there. One attachment is
   * written, the anchor's (a new anchor if the old one was not among them: it left).
   */
  moveMark(generation: number, position: number, sent: readonly Reader[]): void {
    for (const reader of sent) reader.state.position = position;
    const mark = this.marks.get(generation);
    const anchor = mark?.anchor && sent.some((reader) => reader.ws === mark.anchor) ? mark.anchor : (sent[0]?.ws ?? null);
    this.marks.set(generation, { position, anchor });
    if (anchor) this.persist(anchor, this.cache.get(anchor));
  }

  /** No socket of `generation` stands at the mark: it may be put anywhere (at the tail, for others to join). */
  resetMark(generation: number, position: number): void {
    this.marks.set(generation, { position, anchor: null });
  }

  /**
   * A pass stopped before it brought every socket to the tail (a failed read): each socket at the
   * mark gets its own position written, so a later instance never mistakes it for caught up.
   */
  materialise(): void {
    for (const reader of this.open()) {
      if (!reader.state.atMark) continue;
      reader.state.atMark = false;
      this.persist(reader.ws, reader.state);
    }
    for (const mark of this.marks.values()) mark.anchor = null;
  }

  /** The state of one open socket (parsing every attachment first if this instance has not yet), or null. */
  stateOf(ws: WebSocket): SocketState | null {
    if (!this.cache.has(ws)) this.open();
    return this.cache.get(ws) ?? null;
  }

  /**
   * A socket's token was refreshed: its state (the object every pass records positions in) takes
   * the new token's fields and is written at once, so no pass can write the old ones back.
   */
  refreshed(ws: WebSocket, token: Pick<SocketState, "expiresAt" | "kid" | "jti">): void {
    const state = this.stateOf(ws);
    if (!state) return;
    Object.assign(state, token);
    this.persist(ws, state);
  }

  /** A socket not at the mark moved: its own attachment says where. */
  moved(ws: WebSocket, state: SocketState): void {
    this.persist(ws, state);
  }

  /** A socket not at the mark reached it: from now on it moves with the mark, unwritten. */
  joinMark(ws: WebSocket, state: SocketState): void {
    const mark = this.marks.get(state.generation);
    if (!mark || mark.position !== state.position) return this.moved(ws, state);
    state.atMark = true;
    if (mark.anchor === null) mark.anchor = ws;
    this.persist(ws, state);
  }

  /** A socket is closing: if it held the mark, another socket at the mark takes it over. */
  leaving(ws: WebSocket): void {
    // Loads this instance's marks first (the close may be the first event after hibernation).
    const readers = this.open();
    for (const [generation, mark] of this.marks) {
      if (mark.anchor !== ws) continue;
      mark.anchor = null;
      const heir = readers.find((reader) => reader.ws !== ws && reader.state.atMark && reader.state.generation === generation);
      if (heir) {
        mark.anchor = heir.ws;
        this.persist(heir.ws, heir.state);
      }
    }
  }

  private persist(ws: WebSocket, state: SocketState | undefined): void {
    if (!state) return;
    const mark = this.marks.get(state.generation);
    const attachment: z.infer<typeof AttachmentSchema> = {
      position: state.atMark ? null : state.position,
      ...(mark && mark.anchor === ws ? { mark: mark.position } : {}),
      generation: state.generation,
      expiresAt: state.expiresAt,
      kid: state.kid,
      user: state.user,
      jti: state.jti,
      greeted: state.greeted,
    };
    ws.serializeAttachment(attachment);
  }
}
