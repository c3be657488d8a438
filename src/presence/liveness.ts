// Liveness of presence sockets. A connection that dies without a close or an error reaching the
// object (a laptop that sleeps, a NAT that forgets the flow) would keep its user present forever;
// so a presence socket must send "ping" at least every PRESENCE_LIVENESS_MS, which the runtime
// answers without waking the object and remembers (getWebSocketAutoResponseTimestamp). The
// object's alarm closes a presence socket whose last ping (or, before its first, its accept) is
// older than that, and its user then leaves after the grace like any other. /v1/client.js pings
// every 25 s. The accept time is a tag (tags.ts), since a hibernated socket keeps nothing else here.
import { PRESENCE_TAG, taggedAcceptedAt } from "./tags";

/** Close code of a presence socket that stopped pinging (4400-4499: the client's side of things). */
export const CLOSE_NO_PING = 4408;

export class PresenceLiveness {
  /** The earliest deadline as last computed; undefined once something may have moved it. */
  private due: number | null | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    /** 0 turns the check off. */
    private readonly livenessMs: () => number,
  ) {}

  /** Sockets came or went, or pings moved deadlines: the next due time is computed again. */
  changed(): void {
    this.due = undefined;
  }

  /** An alarm task: the earliest deadline of an open presence socket. */
  nextCheck(): number | null {
    if (this.livenessMs() === 0) return null;
    if (this.due === undefined) {
      let due: number | null = null;
      for (const ws of this.open()) {
        const at = this.lastSign(ws) + this.livenessMs();
        if (due === null || at < due) due = at;
      }
      this.due = due;
    }
    return this.due;
  }

  /** The alarm: closes presence sockets past their deadline; true if it closed any. */
  closeSilent(now: number): boolean {
    this.due = undefined;
    if (this.livenessMs() === 0) return false;
    let closed = false;
    for (const ws of this.open()) {
      if (this.lastSign(ws) + this.livenessMs() > now) continue;
      try {
        ws.close(CLOSE_NO_PING, `no ping for ${this.livenessMs()} ms`);
      } catch {
        // Already closing.
      }
      closed = true;
    }
    return closed;
  }

  private *open(): Generator<WebSocket> {
    for (const ws of this.ctx.getWebSockets(PRESENCE_TAG)) if (ws.readyState === WebSocket.OPEN) yield ws;
  }

  /** The socket's last ping, or its accept if it has not pinged yet. */
  private lastSign(ws: WebSocket): number {
    const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
    return Math.max(pinged, taggedAcceptedAt(this.ctx.getTags(ws)));
  }
}
