// Reading cold positions: the segment holding a position, fetched with one ranged get of just the
// rows a read needs, each row checked against its CRC. A missing or damaged object is a logged
// `segment_unavailable` failure (503), never wrong data.
import { fail, type Failure } from "../../errors";
import type { Chunk, StreamRepository } from "../repository";
import { crc32 } from "./crc32";
import { decodeIndex } from "./segment-index";
import { SegmentTable, type ColdSegment } from "./segment-table";

export class ColdReads {
  readonly segments: SegmentTable;

  constructor(
    repo: StreamRepository,
    /** Replaceable so tests can damage or lose objects. */
    public bucket: R2Bucket,
  ) {
    this.segments = new SegmentTable(repo);
  }

  /** The cold segment holding `position`, or null when it is hot (or inherited). */
  holding(position: number): ColdSegment | null {
    return this.segments.holding(position);
  }

  /** True when a message ends exactly at `position` inside (or at the end of) a cold segment. */
  messageEndsAt(position: number): boolean {
    const segment = this.segments.endingAtOrAfter(position);
    if (!segment) return false;
    let start = segment.start;
    for (const row of decodeIndex(segment.index)) {
      const end = start + row.length;
      if (position === end) return row.messageEnd;
      if (position < end) return row.innerEnds.includes(position - start);
      start = end;
    }
    return false;
  }

  /** The segment's rows overlapping [from, limit), read from R2 with one ranged get. */
  async rows(segment: ColdSegment, from: number, limit: number): Promise<Chunk[] | Failure> {
    const wanted = decodeIndex(segment.index).filter((row) => {
      const start = segment.start + row.offset;
      return start + row.length > from && start < limit;
    });
    const first = wanted[0];
    const last = wanted.at(-1);
    if (!first || !last) return [];
    const length = last.offset + last.length - first.offset;
    let body: Uint8Array;
    try {
      const object = await this.bucket.get(segment.key, { range: { offset: first.offset, length } });
      if (!object) return unavailable(segment, "the object is missing");
      body = new Uint8Array(await object.arrayBuffer());
    } catch (error) {
      return unavailable(segment, `R2 get failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (body.length !== length) return unavailable(segment, `expected ${length} bytes at ${first.offset}, got ${body.length}`);
    const chunks: Chunk[] = [];
    for (const row of wanted) {
      const data = body.subarray(row.offset - first.offset, row.offset - first.offset + row.length);
      if (crc32(data) !== row.crc) return unavailable(segment, `checksum mismatch in the row at ${segment.start + row.offset}`);
      const start = segment.start + row.offset;
      chunks.push({ start, end: start + row.length, data, innerEnds: row.innerEnds, messageEnd: row.messageEnd, appendEnd: row.appendEnd });
    }
    return chunks;
  }
}

function unavailable(segment: ColdSegment, cause: string): Failure {
  console.error(`cold segment ${segment.key} [${segment.start}, ${segment.end}) unreadable: ${cause}`);
  return fail("segment_unavailable", "part of this stream is stored in a cold segment that cannot be read right now; retry later");
}
