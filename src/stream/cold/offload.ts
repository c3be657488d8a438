// The offload task of the stream's alarm: while the stream's own data in SQLite passes
// COLD_AFTER_BYTES, its oldest whole rows move to R2 as a segment. Crash-safe and idempotent: the
// object is put first (under a deterministic key), then one transaction records the segment and
// deletes the rows. A crash in between leaves the rows hot and the next run puts the same object again.
import { backoffMs, type Backoff } from "../../backoff";
import { concatBytes } from "../../bytes";
import { isJsonMode } from "../../protocol/content-type";
import type { StreamCall } from "../calls";
import type { StreamLog } from "../log";
import type { Chunk, StreamMeta } from "../repository";
import { crc32 } from "./crc32";
import { encodeIndex } from "./segment-index";
import { segmentKey } from "./segment-keys";
import { planSegment } from "./segment-plan";
import { SegmentTable, type ColdSegment } from "./segment-table";

/**
 * Segments per alarm run. Each is one R2 put of up to about a page (SEGMENT_BYTES) held in memory
 * at a time, so 8 keep a run to a few seconds and 8 subrequests; a stream further over the
 * threshold is due again at once and catches up over a few runs.
 */
export const OFFLOAD_SEGMENTS_PER_RUN = 8;

/** A failed put or commit is retried from 1 s, doubling up to 10 minutes (R2 outages are rare and short). */
const RETRY_BACKOFF: Backoff = { baseMs: 1_000, capMs: 600_000, jitter: 0.5 };

export interface OffloadStatus {
  hotBytes: number;
  coldBytes: number;
  coldSegments: number;
  lastError: string | null;
}

export class ColdOffload {
  private readonly segments: SegmentTable;
  private failures = 0;
  private retryAt: number | null = null;
  private lastError: string | null = null;
  /** No sealed range was ready at this generation and tail (a JSON message still being written). */
  private waitingFor: { generation: number; tail: number } | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly log: StreamLog,
    /** Replaceable so tests can make R2 fail. */
    public bucket: R2Bucket,
    private readonly thresholdBytes: number,
  ) {
    this.segments = new SegmentTable(log.repo);
  }

  /** An alarm task: now while the stream's hot data is over the threshold (later after a failure). */
  dueAt(): number | null {
    const meta = this.log.meta;
    if (!meta || meta.status !== "active" || this.hotBytes(meta) <= this.thresholdBytes) return null;
    if (this.waitingFor?.generation === meta.generation && this.waitingFor.tail === meta.tail) return null;
    return this.retryAt ?? Date.now();
  }

  /** Moves up to OFFLOAD_SEGMENTS_PER_RUN segments; a failure is logged and retried with backoff. */
  async run(): Promise<void> {
    for (let moved = 0; moved < OFFLOAD_SEGMENTS_PER_RUN; moved++) {
      const meta = this.log.meta;
      if (!meta || meta.status !== "active" || this.hotBytes(meta) <= this.thresholdBytes) return;
      if (this.retryAt !== null && this.retryAt > Date.now()) return;
      const first = this.segments.firstHotPosition() ?? meta.tail;
      const rows = planSegment(this.log.repo.chunksBetween(first, meta.tail), { jsonMode: isJsonMode(meta.contentType), tail: meta.tail });
      if (!rows) {
        this.waitingFor = { generation: meta.generation, tail: meta.tail };
        return;
      }
      try {
        await this.offload(meta, rows);
        this.failures = 0;
        this.retryAt = null;
        this.lastError = null;
      } catch (error) {
        this.failures++;
        this.retryAt = Date.now() + backoffMs(RETRY_BACKOFF, this.failures);
        this.lastError = error instanceof Error ? error.message : String(error);
        console.error(`offloading ${meta.name} from ${first} to R2 failed (attempt ${this.failures}): ${this.lastError}`);
        return;
      }
    }
  }

  /**
   * Records the segment and drops its rows in one transaction. Replaceable so tests can crash
   * between the put and this commit.
   */
  commit = (segment: ColdSegment): void => {
    this.storage.transactionSync(() => this.segments.seal(segment));
  };

  /** What deleting this generation of the stream owes R2: one call removing its objects by prefix. */
  deletionCalls(meta: StreamMeta): StreamCall[] {
    // A stream that never passed the threshold cannot have put anything (not even a crashed attempt).
    const couldHaveObjects = this.segments.totals().segments > 0 || meta.tail - (meta.forkPosition ?? 0) > this.thresholdBytes;
    return couldHaveObjects ? [{ kind: "deleteColdSegments", stream: meta.name, generation: meta.generation }] : [];
  }

  status(meta: StreamMeta): OffloadStatus {
    const { bytes, segments } = this.segments.totals();
    return { hotBytes: this.hotBytes(meta), coldBytes: bytes, coldSegments: segments, lastError: this.lastError };
  }

  private hotBytes(meta: StreamMeta): number {
    return meta.tail - (this.segments.firstHotPosition() ?? meta.tail);
  }

  private async offload(meta: StreamMeta, rows: readonly Chunk[]): Promise<void> {
    const start = rows[0]?.start ?? 0;
    const end = rows.at(-1)?.end ?? start;
    const data = concatBytes(rows.map((row) => row.data));
    const checksum = toHex(await crypto.subtle.digest("SHA-256", data));
    const key = segmentKey(meta.name, meta.generation, start);
    await this.bucket.put(key, data, { sha256: checksum });
    const now = this.log.meta;
    if (!now || now.generation !== meta.generation || now.status === "deleted") {
      // Deleted while the put was in flight: its clean-up may already have listed the prefix.
      await this.bucket.delete(key);
      return;
    }
    const messages = rows.reduce((sum, row) => sum + row.innerEnds.length + (row.messageEnd ? 1 : 0), 0);
    const index = encodeIndex(rows.map((chunk) => ({ chunk, crc: crc32(chunk.data) })));
    this.commit({ start, end, key, bytes: data.length, messages, index, checksum, offloadedAt: Date.now() });
  }
}

function toHex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
