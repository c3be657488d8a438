// Revoking a signing secret, a token (by jti) or a user's tokens ends the WebSockets opened with
// them. A token is checked when its socket opens, not after, so the project tells each stream
// holding sockets (the streams of stream_sockets, which they report themselves) to close those whose
// attachment names the revoked secret, jti or user.
// It does so twice: at once, and again once every Worker's cached copy of the secrets
// (AUTH_CACHE_MS) has run out, for sockets a Worker let open meanwhile with its cached copy. Each
// sweep is a stored row the alarm works through a page at a time, so a restart loses none and no
// invocation makes more calls than the budget.
import { mapLimit } from "../map-limit";
import type { ProjectRepository } from "./repository";
import type { Revoked } from "./token-revocations";

/**
 * Streams told per alarm (one call each): a tenth of the platform's 10,000 subrequests per
 * invocation (PLATFORM.md, Workers Paid), so a page always fits; a project with more streams
 * holding sockets takes several alarms, each due at once.
 */
export const REVOCATION_CALLS_PER_ALARM = 1_000;
/** Streams told side by side. */
const CONCURRENCY = 16;
/** A page that failed is tried again this much later (closing is idempotent). */
const RETRY_MS = 5_000;
/** The late sweep waits this much past AUTH_CACHE_MS: a copy fetched just before the revocation. */
const LATE_MARGIN_MS = 1_000;

export class Revocations {
  /** The budget per alarm; replaceable so tests can run it small. */
  callsPerAlarm = REVOCATION_CALLS_PER_ALARM;

  constructor(
    private readonly repo: ProjectRepository,
    /** Tells one stream (by its name in the project) to close the sockets of `target`. */
    private readonly closeSockets: (stream: string, target: Revoked) => Promise<void>,
  ) {}

  /** Run in the transaction that deletes the secret or records the revocation. */
  revoked(target: Revoked, authCacheMs: number, now: number): void {
    this.repo.addSweep(target, now);
    this.repo.addSweep(target, now + authCacheMs + LATE_MARGIN_MS);
  }

  nextDue(): number | null {
    return this.repo.nextSweepDue();
  }

  /** The alarm: one page of the earliest due sweep. */
  async run(now: number): Promise<void> {
    const sweep = this.repo.dueSweep(now);
    if (!sweep) return;
    const streams = this.repo.streamsWithSockets(sweep.after, this.callsPerAlarm);
    try {
      await mapLimit(streams, CONCURRENCY, (stream) => this.closeSockets(stream, sweep.target));
    } catch (error) {
      console.warn(`closing the sockets of revoked ${sweep.target.kind} ${sweep.target.value} failed; retrying in ${RETRY_MS} ms`, error);
      this.repo.saveSweep({ ...sweep, dueAt: Date.now() + RETRY_MS });
      return;
    }
    const last = streams.at(-1);
    if (streams.length < this.callsPerAlarm || last === undefined) this.repo.deleteSweep(sweep.id);
    else this.repo.saveSweep({ ...sweep, after: last });
  }
}
