// The presence member table of a stream (presence_members, migration 16): one row per user who is
// present or whose leave waits out its grace period. A departed user's row is deleted with their
// leave, so the table never grows with users who have gone. SQL text lives here and nowhere else.
import { lenientInfo, type PresenceInfo } from "../auth/presence-info";

export interface Member {
  user: string;
  /** When the user joined (ms since epoch). */
  since: number;
  /** When the user leaves if no connection of theirs returns before (ms since epoch), or null while connected. */
  leaveAt: number | null;
  /** The token's presence info of the connection that joined, or null. */
  info: PresenceInfo | null;
}

type MemberRow = { user: string; since: number; leave_at: number | null; info: string | null };

export class PresenceMembers {
  constructor(private readonly sql: SqlStorage) {}

  all(): Member[] {
    return this.sql
      .exec<MemberRow>("SELECT user, since, leave_at, info FROM presence_members ORDER BY user")
      .toArray()
      .map((row) => ({ user: row.user, since: row.since, leaveAt: row.leave_at, info: row.info === null ? null : lenientInfo(JSON.parse(row.info)) }));
  }

  insert(member: Member): void {
    const info = member.info === null ? null : JSON.stringify(member.info);
    this.sql.exec("INSERT INTO presence_members (user, since, leave_at, info) VALUES (?, ?, ?, ?)", member.user, member.since, member.leaveAt, info);
  }

  setLeaveAt(user: string, leaveAt: number | null): void {
    this.sql.exec("UPDATE presence_members SET leave_at = ? WHERE user = ?", leaveAt, user);
  }

  delete(user: string): void {
    this.sql.exec("DELETE FROM presence_members WHERE user = ?", user);
  }

  clear(): void {
    this.sql.exec("DELETE FROM presence_members");
  }
}
