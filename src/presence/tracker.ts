// Who is present on a stream. A WebSocket reader that asked for presence carries tags given at
// accept (tags.ts; the Hibernation API keeps them with the socket, across hibernation and
// eviction): one marking it as a presence socket and one naming its user. The runtime's open sockets are the truth
// about connections; the member table (members.ts) is the truth about who joined and when. Every
// change in the open sockets reconciles the two: a user with an open socket and no row joins; a row
// whose user has no open socket is given a leave time one grace period away (a reload that opens a
// new socket within it clears that time again: no leave, no second join); the alarm deletes the rows
// whose leave time has come. A restart drops every socket without close events; the reconcile on
// load then starts the grace of everyone who was present.
import type { PresenceInfo } from "../auth/presence-info";
import type { PresenceEvent } from "./events";
import { joinEvent, leaveEvent, occupancyEvent } from "./events";
import { PRESENCE_TAG, presenceTags, taggedUser } from "./tags";
import { PresenceMembers, type Member } from "./members";
import type { PresenceOutgoing } from "./outgoing";

/** What a socket being accepted asked for: presence as its user, with its token's info. */
export interface Admission {
  presence?: boolean;
  user?: string | null;
  info?: PresenceInfo | null;
}

export interface PresentUser {
  user: string;
  connections: number;
  since: number;
  /** The info as JSON text: RPC results carry no `unknown` values. */
  info: string | null;
}

export class PresenceTracker {
  /** The member table as loaded; undefined until first needed after a wake-up. */
  private cached: Map<string, Member> | undefined;
  /** The open count last reconciled for; undefined after a wake-up. */
  private lastOpen: number | undefined;
  /** Info of users whose socket is being accepted, until the reconcile that follows the accept. */
  private readonly arriving = new Map<string, PresenceInfo>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly members: PresenceMembers,
    private readonly outgoing: PresenceOutgoing,
    /** False while the stream's schema does not exist (no stream was ever stored, so no socket). */
    private readonly ready: () => boolean,
    /** The source stream's name within its project, the occupancy events' key. */
    private readonly streamName: () => string | null,
    private readonly graceMs: () => number,
    /** Re-plans the object's alarm (leave times are one of its tasks). */
    private readonly replan: () => void,
  ) {}

  /** The tags of a socket being accepted (none unless it asked for presence and has a user); notes its info for the join. */
  admit(req: Admission): string[] {
    if (!req.presence || !req.user) return [];
    if (req.info) this.arriving.set(req.user, req.info);
    // The count that follows may equal the last one (another socket closed unseen): reconcile anyway.
    this.lastOpen = undefined;
    return presenceTags(req.user, Date.now());
  }

  /**
   * Told the open socket count after anything that may have changed the sockets (LiveSockets'
   * `counted`, which every broadcast pass also calls): reconciles only when the count moved, since
   * each accept and each close is counted on its own, so an unchanged count is an unchanged set.
   */
  counted(open: number): void {
    if (open === this.lastOpen) return;
    this.lastOpen = open;
    this.reconcile();
  }

  /** Brings the member table in line with the open sockets; `leaving` is a socket whose close is being handled. */
  reconcile(leaving?: WebSocket, now = Date.now()): void {
    if (!this.ready()) return;
    const connected = this.connections(leaving);
    const table = this.table();
    if (connected.size === 0 && table.size === 0) return;
    const events: PresenceEvent[] = [];
    let planned = false;
    this.atomically(() => {
      const wasOccupied = table.size > 0;
      for (const user of connected.keys()) {
        const member = table.get(user);
        if (!member) {
          const joined: Member = { user, since: now, leaveAt: null, info: this.arriving.get(user) ?? null };
          this.members.insert(joined);
          table.set(user, joined);
          events.push(joinEvent(user, now, joined.info));
        } else if (member.leaveAt !== null) {
          member.leaveAt = null;
          this.members.setLeaveAt(user, null);
          planned = true;
        }
      }
      for (const member of table.values()) {
        if (connected.has(member.user) || member.leaveAt !== null) continue;
        member.leaveAt = now + this.graceMs();
        this.members.setLeaveAt(member.user, member.leaveAt);
        planned = true;
      }
      if (!wasOccupied && table.size > 0) events.push(this.occupancy(true, now));
      this.outgoing.add(events);
    });
    this.arriving.clear();
    if (planned || events.length > 0) this.replan();
  }

  /** An alarm task: the earliest leave time. */
  nextLeave(): number | null {
    if (!this.ready()) return null;
    let earliest: number | null = null;
    for (const { leaveAt } of this.table().values()) if (leaveAt !== null && (earliest === null || leaveAt < earliest)) earliest = leaveAt;
    return earliest;
  }

  /** The alarm: users whose grace ran out without a connection of theirs coming back leave. */
  leaveDue(now = Date.now()): void {
    if (!this.ready()) return;
    this.reconcile(undefined, now);
    const table = this.table();
    const due = [...table.values()].filter((member) => member.leaveAt !== null && member.leaveAt <= now);
    if (due.length === 0) return;
    this.atomically(() => {
      const events = due.map((member) => leaveEvent(member.user, member.since, now));
      for (const member of due) {
        this.members.delete(member.user);
        table.delete(member.user);
      }
      if (table.size === 0) events.push(this.occupancy(false, now));
      this.outgoing.add(events);
    });
    this.replan();
  }

  /** Present users in user order, after `after`, at most `limit`; a user in their grace period shows 0 connections. */
  snapshot(after: string | null, limit: number): { users: PresentUser[]; total: number } {
    if (!this.ready()) return { users: [], total: 0 };
    const connected = this.connections();
    const table = this.table();
    const users = [...table.values()]
      .filter((member) => after === null || member.user > after)
      .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0))
      .slice(0, limit)
      .map((member) => ({ user: member.user, connections: connected.get(member.user) ?? 0, since: member.since, info: member.info === null ? null : JSON.stringify(member.info) }));
    return { users, total: table.size };
  }

  /** Open presence sockets per user. */
  private connections(leaving?: WebSocket): Map<string, number> {
    const counts = new Map<string, number>();
    for (const ws of this.ctx.getWebSockets(PRESENCE_TAG)) {
      if (ws === leaving || ws.readyState !== WebSocket.OPEN) continue;
      const user = taggedUser(this.ctx.getTags(ws));
      if (user === null) continue;
      counts.set(user, (counts.get(user) ?? 0) + 1);
    }
    return counts;
  }

  /** A change to the table and its events; a failed one also drops the cached copy, which it may have half changed. */
  private atomically(change: () => void): void {
    try {
      this.ctx.storage.transactionSync(change);
    } catch (error) {
      this.cached = undefined;
      throw error;
    }
  }

  private table(): Map<string, Member> {
    this.cached ??= new Map(this.members.all().map((member) => [member.user, member]));
    return this.cached;
  }

  private occupancy(occupied: boolean, now: number): PresenceEvent {
    return occupancyEvent(this.streamName() ?? "", occupied, now);
  }
}
