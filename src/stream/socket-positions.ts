// Where each WebSocket stands, kept so that an append costs one pass over the sockets and almost no
// attachment writes. A socket's attachment (which survives hibernation and eviction) either names
// its position, or says "at the mark": the mark is one SQLite row holding where every caught-up
// socket stands. A broadcast that brings the caught-up sockets to the new tail moves the mark once
// instead of rewriting thousands of attachments; only sockets that stand elsewhere (catching up, or
// left behind) carry a position of their own. Attachments are parsed once per socket per object
// instance: the parsed state is cached in memory, keyed by the WebSocket.
import { z } from "zod";
import { Count } from "../contract/primitives";
import type { StreamRepository } from "./repository";

/** A socket's attachment (kept well under the platform's 16 KiB). */
const AttachmentSchema = z.object({
  /** Stream position up to which this socket has been sent data; null: the mark's position. */
  position: Count.nullable(),
  /** The stream generation it reads: a re-created stream closes it. */
  generation: Count,
  /** Its token's expiry (ms since epoch), or null. */
  expiresAt: z.number().int().nullable(),
  /** The secret that signed its token (closeSignedBy), or null: no token, or a public read. */
  kid: z.string().nullable().default(null),
  /** It has had its first frame (sent even when there is nothing to catch up on). */
  greeted: z.boolean(),
});

export interface SocketState {
  /** Always resolved: a socket at the mark holds the mark's position here. */
  position: number;
  generation: number;
  expiresAt: number | null;
  kid: string | null;
  greeted: boolean;
  /** Its attachment says "at the mark" (so it moves when the mark moves). */
  atMark: boolean;
}

export interface Mark {
  generation: number;
  position: number;
}

export class SocketPositions {
  private readonly cache = new WeakMap<WebSocket, SocketState>();
  /** The mark; undefined until read from SQLite (once per instance). */
  private mark: Mark | null | undefined;

  constructor(private readonly repo: () => StreamRepository) {}

  /** A socket just accepted: it stands where its offset said. */
  add(ws: WebSocket, state: Omit<SocketState, "atMark">): void {
    const full: SocketState = { ...state, atMark: false };
    this.cache.set(ws, full);
    persist(ws, full);
  }

  /** The socket's state, or null if its attachment cannot be read (or names a mark that is gone). */
  get(ws: WebSocket): SocketState | null {
    const cached = this.cache.get(ws);
    if (cached) return cached;
    const parsed = AttachmentSchema.safeParse(ws.deserializeAttachment());
    if (!parsed.success) return null;
    const { position, ...rest } = parsed.data;
    let resolved = position;
    if (resolved === null) {
      const mark = this.currentMark();
      if (!mark || mark.generation !== rest.generation) return null;
      resolved = mark.position;
    }
    const state: SocketState = { ...rest, position: resolved, atMark: position === null };
    this.cache.set(ws, state);
    return state;
  }

  currentMark(): Mark | null {
    if (this.mark === undefined) this.mark = this.repo().socketMark();
    return this.mark;
  }

  /**
   * Moves the mark (and with it every socket at the mark; the caller moves their cached states).
   * Written right after the frames were sent, in the same synchronous turn: the output gate holds
   * those frames until this write is durable, so a crash cannot leave them sent but not recorded.
   */
  moveMark(generation: number, position: number): void {
    const mark = this.currentMark();
    if (mark && mark.generation === generation && mark.position === position) return;
    this.repo().saveSocketMark(generation, position);
    this.mark = { generation, position };
  }

  /** A socket not at the mark moved: its own attachment must say where. */
  moved(ws: WebSocket, state: SocketState): void {
    persist(ws, state);
  }

  /** A socket not at the mark reached it: from now on it moves with the mark, unwritten. */
  joinMark(ws: WebSocket, state: SocketState): void {
    state.atMark = true;
    persist(ws, state);
  }
}

function persist(ws: WebSocket, state: SocketState): void {
  const attachment: z.infer<typeof AttachmentSchema> = {
    position: state.atMark ? null : state.position,
    generation: state.generation,
    expiresAt: state.expiresAt,
    kid: state.kid,
    greeted: state.greeted,
  };
  ws.serializeAttachment(attachment);
}
