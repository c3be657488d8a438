// A stream's presence as its object sees it: the tracker of who is present (tracker.ts), the
// liveness check of presence sockets (liveness.ts) and the events waiting for the presence log
// (outgoing.ts), put together once so the stream's object wires one part, not three.
import type { Env } from "../env";
import { loadConfig } from "../config";
import type { Outbox } from "../storage/outbox";
import type { StreamCall } from "../stream/calls";
import { PresenceLiveness } from "./liveness";
import { PresenceMembers } from "./members";
import { PresenceOutgoing } from "./outgoing";
import { PresenceTracker, type Admission, type PresentUser } from "./tracker";

export class StreamPresence {
  private readonly outgoing: PresenceOutgoing;
  private readonly tracker: PresenceTracker;
  private readonly liveness: PresenceLiveness;

  constructor(
    ctx: DurableObjectState,
    env: Env,
    outbox: Outbox<StreamCall>,
    /** Whether the object has a schema yet (nothing is stored before its first write). */
    exists: () => boolean,
    /** The stream's name within its project, or null before it exists. */
    streamName: () => string | null,
    replan: () => void,
  ) {
    this.outgoing = new PresenceOutgoing(ctx.storage, env, outbox);
    const grace = () => loadConfig(env).PRESENCE_GRACE_MS;
    this.tracker = new PresenceTracker(ctx, new PresenceMembers(ctx.storage.sql), this.outgoing, exists, streamName, grace, replan);
    this.liveness = new PresenceLiveness(ctx, () => loadConfig(env).PRESENCE_LIVENESS_MS);
  }

  /** The tags a socket being accepted carries (presence sockets name their user). */
  admit(req: Admission): string[] {
    return this.tracker.admit(req);
  }

  /** The number of open sockets changed. */
  counted(open: number): void {
    this.liveness.changed();
    this.tracker.counted(open);
  }

  /** Sockets opened or closed (`leaving` is closing now), or the object started: members follow. */
  reconcile(leaving?: WebSocket): void {
    this.tracker.reconcile(leaving);
  }

  /** An alarm task: the next leave or liveness check. */
  nextDue(): number | null {
    const due = [this.tracker.nextLeave(), this.liveness.nextCheck()].filter((at): at is number => at !== null);
    return due.length === 0 ? null : Math.min(...due);
  }

  /** The alarm: silent sockets close, leaves whose grace ended happen. True when sockets were closed. */
  alarm(now: number): boolean {
    const closed = this.liveness.closeSilent(now);
    this.tracker.leaveDue(now);
    return closed;
  }

  snapshot(after: string | null, limit: number): { users: PresentUser[]; total: number } {
    return this.tracker.snapshot(after, limit);
  }

  /** The outbox call that appends waiting events to the presence log of `source`. */
  flush(source: string): Promise<void> {
    return this.outgoing.flush(source);
  }
}
