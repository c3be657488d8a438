// Stored rows: splitting appends into rows of at most ROW_BYTES, and gathering rows back for reads.
import { describe, expect, it } from "vitest";
import { messagesOf } from "../../src/contract/segments";
import { gather, ROW_BYTES, toChunks } from "../../src/stream/chunks";
import type { Chunk } from "../../src/stream/repository";

function bytes(length: number, fill = 1): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function layout(chunks: readonly Chunk[]) {
  return chunks.map(({ start, end, innerEnds, messageEnd, appendEnd }) => ({ start, end, innerEnds, messageEnd, appendEnd }));
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** Rows of two appends: "abcd" + "efgh" is one message split over two rows, then "ijkl" and "mnop". */
const abcd: Chunk = { innerEnds: [], start: 0, end: 4, data: text("abcd"), messageEnd: false, appendEnd: false };
const efgh: Chunk = { innerEnds: [], start: 4, end: 8, data: text("efgh"), messageEnd: true, appendEnd: false };
const ijkl: Chunk = { innerEnds: [], start: 8, end: 12, data: text("ijkl"), messageEnd: true, appendEnd: true };
const mnop: Chunk = { innerEnds: [], start: 12, end: 16, data: text("mnop"), messageEnd: true, appendEnd: true };
const rows = [abcd, efgh, ijkl, mnop];

/** The rows overlapping [from, limit), as the repository selects them for gather. */
function between(from: number, limit: number): Chunk[] {
  return rows.filter((row) => row.end > from && row.start < limit);
}

const wide = { maxBytes: 1_000, jsonMode: false, stopAtAppendEnd: false };

function joined(segments: readonly { data: Uint8Array }[]): string {
  return segments.map((segment) => new TextDecoder().decode(segment.data)).join("|");
}

const json = { maxBytes: 1_000, jsonMode: true, stopAtAppendEnd: false };
const everything = { ...json, maxBytes: Number.MAX_SAFE_INTEGER };

/** Byte-for-byte equality without a deep-equality walk over megabytes. */
function sameMessages(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): boolean {
  return actual.length === expected.length && actual.every((message, index) => {
    const other = expected[index];
    return other !== undefined && message.length === other.length && message.every((byte, at) => byte === other[at]);
  });
}

describe("toChunks", () => {
  it("packs an append's messages into one row, recording where each ends inside it", () => {
    expect(layout(toChunks(10, [bytes(3), bytes(2)]))).toEqual([
      { start: 10, end: 15, innerEnds: [3], messageEnd: true, appendEnd: true },
    ]);
  });

  it("splits a message larger than ROW_BYTES over rows of at most ROW_BYTES, and packs the next one after it", () => {
    const big = new Uint8Array(2 * ROW_BYTES + 5).map((_, index) => index % 253);
    const chunks = toChunks(0, [big, bytes(1)]);
    expect(layout(chunks)).toEqual([
      { start: 0, end: ROW_BYTES, innerEnds: [], messageEnd: false, appendEnd: false },
      { start: ROW_BYTES, end: 2 * ROW_BYTES, innerEnds: [], messageEnd: false, appendEnd: false },
      { start: 2 * ROW_BYTES, end: 2 * ROW_BYTES + 6, innerEnds: [5], messageEnd: true, appendEnd: true },
    ]);
    expect(sameMessages(messagesOf(gather(chunks, 0, 2 * ROW_BYTES + 6, everything).segments), [big, bytes(1)])).toBe(true);
  });

  it("lets a message that does not fit the rest of a row continue in the next, ending it there", () => {
    const chunks = toChunks(0, [bytes(ROW_BYTES - 1), bytes(3, 2)]);
    expect(layout(chunks)).toEqual([
      { start: 0, end: ROW_BYTES, innerEnds: [ROW_BYTES - 1], messageEnd: false, appendEnd: false },
      { start: ROW_BYTES, end: ROW_BYTES + 2, innerEnds: [], messageEnd: true, appendEnd: true },
    ]);
    expect(sameMessages(messagesOf(gather(chunks, 0, ROW_BYTES + 2, everything).segments), [bytes(ROW_BYTES - 1), bytes(3, 2)])).toBe(true);
  });

  it("keeps a message of exactly ROW_BYTES in one row and starts a second row one byte later", () => {
    expect(layout(toChunks(0, [bytes(ROW_BYTES), bytes(1)]))).toEqual([
      { start: 0, end: ROW_BYTES, innerEnds: [], messageEnd: true, appendEnd: false },
      { start: ROW_BYTES, end: ROW_BYTES + 1, innerEnds: [], messageEnd: true, appendEnd: true },
    ]);
  });

  it("produces no rows for no messages", () => {
    expect(toChunks(7, [])).toEqual([]);
  });
});

describe("gather over packed rows", () => {
  const packed = toChunks(0, [text("[1]"), text('"ab"'), text("{}")]);

  it("gives one segment per message, each ending its message", () => {
    const result = gather(packed, 0, 9, json);
    expect(joined(result.segments)).toBe('[1]|"ab"|{}');
    expect(result.segments.map((segment) => segment.messageEnd)).toEqual([true, true, true]);
    expect(result.next).toBe(9);
  });

  it("starts at a message boundary inside a row", () => {
    expect(joined(gather(packed, 3, 9, json).segments)).toBe('"ab"|{}');
    expect(joined(gather(packed, 7, 9, json).segments)).toBe("{}");
  });

  it("stops at a message boundary inside a row once maxBytes is reached", () => {
    const result = gather(packed, 0, 9, { ...json, maxBytes: 4 });
    expect(joined(result.segments)).toBe('[1]|"ab"');
    expect(result.next).toBe(7);
  });

  it("stops at a limit on a message end inside a row without an empty piece", () => {
    const result = gather(packed, 0, 3, json);
    expect(joined(result.segments)).toBe("[1]");
    expect(result.segments).toHaveLength(1);
    expect(result.next).toBe(3);
  });

  it("marks the append's end only on its last message", () => {
    const result = gather(packed, 0, 9, { ...json, stopAtAppendEnd: true });
    expect(result).toMatchObject({ next: 9, appendEnded: true });
  });
});

describe("gather", () => {
  it("reads every row up to the limit when under maxBytes", () => {
    const result = gather(between(0, 16), 0, 16, wide);
    expect(joined(result.segments)).toBe("abcd|efgh|ijkl|mnop");
    expect(result).toMatchObject({ next: 16, bytes: 16, appendEnded: false });
  });

  it("stops at the first row end past maxBytes in byte mode", () => {
    const result = gather(between(0, 16), 0, 16, { ...wide, maxBytes: 3 });
    expect(joined(result.segments)).toBe("abcd");
    expect(result.next).toBe(4);
  });

  it("never stops inside a JSON message, even past maxBytes", () => {
    const result = gather(between(0, 16), 0, 16, { ...wide, maxBytes: 3, jsonMode: true });
    expect(joined(result.segments)).toBe("abcd|efgh");
    expect(result.next).toBe(8);
    expect(messagesOf(result.segments).map((message) => new TextDecoder().decode(message))).toEqual(["abcdefgh"]);
  });

  it("trims the first row to the start position", () => {
    const result = gather(between(5, 16), 5, 16, wide);
    expect(joined(result.segments)).toBe("fgh|ijkl|mnop");
    expect(result.bytes).toBe(11);
  });

  it("trims the last row to the limit and does not mark a message end there", () => {
    const result = gather(between(0, 10), 0, 10, wide);
    expect(joined(result.segments)).toBe("abcd|efgh|ij");
    expect(result.segments.at(-1)?.messageEnd).toBe(false);
    expect(result.next).toBe(10);
  });

  it("stops after the first append ends when asked to", () => {
    const result = gather(between(0, 16), 0, 16, { ...wide, stopAtAppendEnd: true });
    expect(joined(result.segments)).toBe("abcd|efgh|ijkl");
    expect(result).toMatchObject({ next: 12, appendEnded: true });
  });

  it("stops at a hole instead of skipping over missing rows", () => {
    const result = gather([abcd, ijkl], 0, 16, wide);
    expect(joined(result.segments)).toBe("abcd");
    expect(result.next).toBe(4);
  });
});
