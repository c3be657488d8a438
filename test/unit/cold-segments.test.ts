// Cold segments as pure data: which rows the next segment takes, the row layout kept with it, and
// the checksum each row is read back against.
import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/stream/cold/crc32";
import { decodeIndex, encodeIndex } from "../../src/stream/cold/segment-index";
import { generationPrefix, segmentKey } from "../../src/stream/cold/segment-keys";
import { planSegment } from "../../src/stream/cold/segment-plan";
import type { Chunk } from "../../src/stream/repository";

/** Consecutive rows of the given sizes; `messageEnds[i]` false marks a row inside a longer message. */
function rows(sizes: readonly number[], messageEnds: readonly boolean[] = []): Chunk[] {
  let at = 0;
  return sizes.map((size, index) => {
    const chunk: Chunk = { start: at, end: at + size, data: new Uint8Array(size).fill(index), innerEnds: [], messageEnd: messageEnds[index] ?? true, appendEnd: true };
    at += size;
    return chunk;
  });
}

const spans = (chunks: Chunk[] | null) => chunks?.map((chunk) => [chunk.start, chunk.end]) ?? null;

describe("planning a segment", () => {
  it("takes the oldest whole rows up to the size, and never the last row of the stream", () => {
    expect(spans(planSegment(rows([40, 40, 40, 40]), { jsonMode: false, tail: 160, maxBytes: 100 }))).toEqual([[0, 40], [40, 80]]);
    expect(spans(planSegment(rows([40, 40]), { jsonMode: false, tail: 80, maxBytes: 1000 }))).toEqual([[0, 40]]);
    expect(planSegment(rows([40]), { jsonMode: false, tail: 40 })).toBeNull();
  });

  it("takes a row larger than the size alone rather than none", () => {
    expect(spans(planSegment(rows([500, 10, 10]), { jsonMode: false, tail: 520, maxBytes: 100 }))).toEqual([[0, 500]]);
  });

  it("in JSON mode ends only where a message ends, keeping a long message whole", () => {
    const long = rows([30, 60, 60, 30, 30], [true, false, true, true, true]);
    expect(spans(planSegment(long, { jsonMode: true, tail: 210, maxBytes: 100 }))).toEqual([[0, 30], [30, 90], [90, 150]]);
    // A message still being continued by the last (hot) row is not sealed.
    const open = rows([30, 60, 60], [true, false, true]);
    expect(spans(planSegment(open.slice(1), { jsonMode: true, tail: 150, maxBytes: 100 }))).toBeNull();
  });

  it("bounds the row layout kept in SQLite", () => {
    const many = rows(Array.from({ length: 10 }, () => 1));
    expect(planSegment(many, { jsonMode: false, tail: 10, maxIndexBytes: 13 * 3 })?.length).toBe(3);
  });
});

describe("the row layout", () => {
  it("round-trips offsets, checksums, flags and inner message ends", () => {
    const chunks: Chunk[] = [
      { start: 100, end: 110, data: new Uint8Array(10), innerEnds: [3, 7], messageEnd: true, appendEnd: false },
      { start: 110, end: 115, data: new Uint8Array(5), innerEnds: [], messageEnd: false, appendEnd: true },
    ];
    const decoded = decodeIndex(encodeIndex(chunks.map((chunk, index) => ({ chunk, crc: 0xfffffff0 + index }))));
    expect(decoded).toEqual([
      { offset: 0, length: 10, crc: 0xfffffff0, messageEnd: true, appendEnd: false, innerEnds: [3, 7] },
      { offset: 10, length: 5, crc: 0xfffffff1, messageEnd: false, appendEnd: true, innerEnds: [] },
    ]);
  });
});

describe("checksums and keys", () => {
  it("computes the standard CRC-32", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("keys segments by stream, generation and zero-padded position; generation 1 is not a prefix of 10", () => {
    expect(segmentKey("p/s", 1, 42)).toBe("streams/p%2Fs/1/0000000000000042");
    expect(segmentKey("p/s", 10, 0).startsWith(generationPrefix("p/s", 1))).toBe(false);
  });
});
