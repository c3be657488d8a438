// Sending new data to a stream's WebSockets after a commit. With few sockets the pass starts at once,
// inside the append's event (a one-socket channel gets its frame as early as it can); above
// WS_INLINE_BROADCAST_MAX sockets (src/config.ts) the pass is deferred with setTimeout(0), so it runs once the append's
// answer is on its way (a microtask would still run before it). Passes are single flight and loop
// while commits arrive, so each socket gets frames in order and an append that lands during a pass
// is sent by the next one. A pass starts from each socket's recorded position (socket-positions.ts),
// which is updated in the same synchronous turn as the send it records: an object evicted between
// two frames (its sockets kept) continues from there, and a new instance runs a pass as it starts.
// An instance that dies (crash, restart, abort) disconnects its sockets, whose clients resume from
// the last streamNextOffset they got.
import { CLOSE, frameDataBytes, frameEncoding, renderFrame } from "../protocol/ws-frames";
import type { StreamLog } from "./log";
import { renderPayload } from "./payload";
import type { StreamMeta } from "./repository";
import { closeQuietly, sendQuietly } from "./socket-io";
import type { Reader, SocketPositions } from "./socket-positions";

export class SocketBroadcast {
  private scheduled = false;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly log: StreamLog,
    private readonly positions: SocketPositions,
    /** WS_INLINE_BROADCAST_MAX. */
    private readonly inlineMax: number,
    /** Told the number of open sockets after each pass (it closes some). */
    private readonly counted: (open: number) => void,
  ) {}

  /** Brings every socket up to the tail: now with few sockets, after the current event with many. */
  wake(): void {
    const sockets = this.ctx.getWebSockets().length;
    if (sockets === 0) return;
    if (sockets <= this.inlineMax) {
      this.ctx.waitUntil(this.run());
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    const timer = new Promise<void>((resolve) => setTimeout(resolve, 0));
    this.ctx.waitUntil(
      timer.then(() => {
        this.scheduled = false;
        return this.run();
      }),
    );
  }

  private run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } catch (error) {
        // A failed read stops the pass where the last frame was recorded; the next wake resumes there.
        console.error("WebSocket broadcast stopped: the log read failed", error);
        this.positions.materialise();
      }
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** One walk over the sockets: closes the ones that must go, then sends each group from its position. */
  private async pass(): Promise<void> {
    const meta = this.log.meta;
    if (!meta || meta.status !== "active") return;
    // The tail as of this pass: commits during it are for the next pass.
    const tail = meta.tail;
    const now = Date.now();
    const atMark: Reader[] = [];
    let markHolders = 0;
    // Sockets at the same position get the same frames: each range is read and rendered once.
    const groups = new Map<number, Reader[]>();
    let open = 0;
    for (const reader of this.positions.open()) {
      const { ws, state } = reader;
      if (state.generation !== meta.generation) closeQuietly(ws, CLOSE.streamGone, "stream was re-created");
      else if (state.expiresAt !== null && state.expiresAt <= now) closeQuietly(ws, CLOSE.tokenExpired, "token expired");
      else if (state.position < meta.earliest) closeQuietly(ws, CLOSE.trimmed, "data trimmed by retention");
      else {
        open++;
        if (state.atMark) markHolders++;
        if (state.position < tail || !state.greeted || meta.closed) {
          if (state.atMark) atMark.push(reader);
          else {
            const group = groups.get(state.position);
            if (group) group.push(reader);
            else groups.set(state.position, [reader]);
          }
        }
      }
    }
    const generation = meta.generation;
    const mark = this.positions.markOf(generation);
    if (atMark.length > 0 && mark !== null) {
      open -= await this.sendFrom(meta, tail, mark, atMark, (next, sent) => this.positions.moveMark(generation, next, sent));
    }
    if (markHolders === 0) this.positions.resetMark(generation, tail);
    for (const [position, readers] of groups) {
      open -= await this.sendFrom(meta, tail, position, readers, (next, sent) => {
        for (const { ws, state } of sent) {
          if (next === tail) this.positions.joinMark(ws, state);
          else this.positions.moved(ws, state);
        }
      });
    }
    this.counted(open);
  }

  /**
   * Sends [position, tail) in frames (each as much as fits: several appends coalesce) to readers
   * that all stand at `position`, calling `record` right after each frame, in the same turn; closes
   * them after the last frame of a closed stream. Returns how many it closed or found closed.
   */
  private async sendFrom(meta: StreamMeta, tail: number, position: number, readers: Reader[], record: (next: number, sent: readonly Reader[]) => void): Promise<number> {
    const encoding = frameEncoding(meta.contentType);
    let lost = 0;
    let from = position;
    let live = readers;
    for (;;) {
      const gathered = await this.log.reader.gather(meta, from, tail, false, frameDataBytes(encoding));
      if (!gathered.ok) {
        // An unreadable cold segment would otherwise leave the sockets waiting for its bytes forever.
        if (gathered.code !== "segment_unavailable") return lost;
        for (const { ws } of live) closeQuietly(ws, CLOSE.segmentUnavailable, "cold segment unavailable");
        return lost + live.length;
      }
      const upToDate = gathered.next === tail;
      const frame = renderFrame(encoding, { body: renderPayload(meta.contentType, gathered.segments), next: gathered.next, upToDate, closed: meta.closed });
      const sent: Reader[] = [];
      for (const reader of live) {
        if (!sendQuietly(reader.ws, frame)) continue;
        reader.state.position = gathered.next;
        reader.state.greeted = true;
        sent.push(reader);
      }
      lost += live.length - sent.length;
      live = sent;
      record(gathered.next, sent);
      if (upToDate && meta.closed) {
        for (const { ws } of live) closeQuietly(ws, CLOSE.streamClosed, "stream closed");
        return lost + live.length;
      }
      // A hole (never expected) must not spin: stop where the read stopped.
      if (upToDate || gathered.next === from || live.length === 0) return lost;
      from = gathered.next;
    }
  }
}
