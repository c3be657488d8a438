// Reading a stream's positions: its own rows (hot in SQLite, or cold in R2: cold/cold-reads.ts), and
// below a fork point its source's, via RPC.
import type { Env } from "../env";
import { streamStub } from "./stub";
import { fail, type Failure } from "../errors";
import { concatBytes } from "../bytes";
import { messagesOf } from "../contract/segments";
import { gather, READ_CHUNK_BYTES, type GatherLimits, type Gathered } from "./chunks";
import { ColdReads } from "./cold/cold-reads";
import { isJsonMode } from "../protocol/content-type";
import type { SliceRequest, SliceResult } from "./commands";
import type { StreamMeta, StreamRepository } from "./repository";
import { earliestOf, withLostMessages } from "../contract/gaps";
import { checkRetained, trimmedAway } from "./retention";
import { TrimMarks } from "./trim-marks";

export class StreamReader {
  readonly cold: ColdReads;

  constructor(
    private readonly repo: StreamRepository,
    private readonly env: Env,
    /** The stream as it is now, not as a read in flight found it (see gatherOwn). */
    private readonly current: () => StreamMeta | null,
  ) {
    this.cold = new ColdReads(repo, env.COLD_SEGMENTS);
  }

  /** JSON streams may only be read from between messages; byte streams from any position. */
  isReadBoundary(meta: StreamMeta, position: number): boolean {
    if (!isJsonMode(meta.contentType)) return true;
    const ownStart = meta.forkPosition ?? 0;
    // A trim always ends at a message boundary (trim.ts), and the rows before it are gone.
    if (position === meta.tail || position === ownStart || position === meta.earliest) return true;
    // Inherited positions were validated by the source when the fork was made; below the fork
    // point a JSON offset can only have come from a read, which always stops between messages.
    if (position < ownStart) return true;
    return this.repo.messageEndsAt(position) || this.cold.messageEndsAt(position);
  }

  /** A slice for another object (a fork, fan-out): served even while soft-deleted; with its size, for the budget. */
  async slice(meta: StreamMeta | null, req: SliceRequest): Promise<{ result: SliceResult; bytes: number }> {
    if (!meta || meta.status === "deleted") return { result: fail("not_found", "fork source data is gone"), bytes: 0 };
    if (req.generation !== undefined && req.generation !== meta.generation) {
      return { result: fail("not_found", "that generation of the stream is gone"), bytes: 0 };
    }
    const trimmed = checkRetained(meta, req.from);
    if (trimmed) return { result: withLostMessages(trimmed, new TrimMarks(this.repo).lost(req.from, meta.earliest)), bytes: 0 };
    const gathered = await this.gather(meta, req.from, req.limit, req.stopAtAppendEnd, req.maxBytes);
    if (!gathered.ok) return { result: gathered, bytes: 0 };
    return { result: { ok: true, segments: gathered.segments, next: gathered.next }, bytes: gathered.bytes };
  }

  /** Reads [from, limit): the inherited part from the fork source, then this stream's own rows. */
  async gather(
    meta: StreamMeta,
    from: number,
    limit: number,
    stopAtAppendEnd: boolean,
    maxBytes = READ_CHUNK_BYTES,
  ): Promise<({ ok: true } & Gathered) | Failure> {
    const jsonMode = isJsonMode(meta.contentType);
    const ownStart = meta.forkPosition ?? 0;
    let inherited: Gathered = { segments: [], next: from, bytes: 0, appendEnded: false };
    if (from < ownStart && meta.forkSource) {
      const slice = await streamStub(this.env, meta.forkSource).readSlice({
        from,
        limit: Math.min(limit, ownStart),
        maxBytes,
        stopAtAppendEnd,
      });
      if (!slice.ok) {
        // The source trimmed what this fork inherits: the fork's reads start where the source's do.
        const sourceEarliest = earliestOf(slice);
        return sourceEarliest === null ? slice : trimmedAway(Math.min(sourceEarliest, ownStart), meta.tail);
      }
      const bytes = slice.segments.reduce((sum, segment) => sum + segment.data.length, 0);
      inherited = { segments: slice.segments, next: slice.next, bytes, appendEnded: false };
      const full = inherited.next < Math.min(limit, ownStart) || bytes >= maxBytes || stopAtAppendEnd;
      if (full) return { ok: true, ...inherited };
    }
    let read: Gathered = inherited;
    for (;;) {
      const own = await this.gatherOwn(read.next, limit, { maxBytes: maxBytes - read.bytes, jsonMode, stopAtAppendEnd });
      if ("ok" in own) return own;
      read = { segments: [...read.segments, ...own.segments], next: own.next, bytes: read.bytes + own.bytes, appendEnded: own.appendEnded };
      // A cold read stops at its segment's end (one object per response); only the search for the
      // end of an append (a fork's sub-offset) goes on into the next segment or the hot rows.
      const more = stopAtAppendEnd && !own.appendEnded && own.next > own.from && own.next < limit;
      if (!more) return { ok: true, ...read };
    }
  }

  /** This stream's own rows from `from`: one cold segment's, or the hot rows'. */
  private async gatherOwn(from: number, limit: number, limits: GatherLimits): Promise<(Gathered & { from: number }) | Failure> {
    const segment = this.cold.holding(from);
    if (!segment) return { from, ...gather(this.repo.chunksBetween(from, limit), from, limit, limits) };
    const rows = await this.cold.rows(segment, from, Math.min(limit, segment.end));
    if (!Array.isArray(rows)) {
      // Retention may have dropped the segment (and its object) while the get was in flight: that
      // is data gone on purpose, a 410 naming the new earliest, not an unreadable segment's 503.
      const now = this.current();
      return now && now.status !== "deleted" && from < now.earliest ? trimmedAway(now.earliest, now.tail) : rows;
    }
    return { from, ...gather(rows, from, Math.min(limit, segment.end), limits) };
  }

  /** The first `count` bytes (byte mode) or messages (JSON mode) of the append at `position`. */
  async selectSubOffset(meta: StreamMeta, position: number, count: number): Promise<Uint8Array[] | Failure> {
    const overshoot = fail("bad_request", "fork sub-offset is beyond the end of the append at the fork offset");
    if (position >= meta.tail) return overshoot;
    const gathered = await this.gather(meta, position, meta.tail, true, Number.MAX_SAFE_INTEGER);
    if (!gathered.ok) return gathered;
    if (isJsonMode(meta.contentType)) {
      const messages = messagesOf(gathered.segments);
      return count <= messages.length ? messages.slice(0, count) : overshoot;
    }
    const bytes = concatBytes(gathered.segments.map((segment) => segment.data));
    return count <= bytes.length ? [bytes.subarray(0, count)] : overshoot;
  }
}
