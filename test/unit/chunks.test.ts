// Stored rows: splitting appends into rows of at most ROW_BYTES, and gathering rows back for reads.
import { describe, expect, it } from "vitest";
import { gather, messagesOf, ROW_BYTES, toChunks } from "../../src/stream/chunks";
import type { Chunk } from "../../src/stream/repository";

function bytes(length: number, fill = 1): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function layout(chunks: readonly Chunk[]) {
  return chunks.map(({ start, end, messageEnd, appendEnd }) => ({ start, end, messageEnd, appendEnd }));
}

function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** Rows of two appends: "abcd" + "efgh" is one message split over two rows, then "ijkl" and "mnop". */
const abcd: Chunk = { start: 0, end: 4, data: text("abcd"), messageEnd: false, appendEnd: false };
const efgh: Chunk = { start: 4, end: 8, data: text("efgh"), messageEnd: true, appendEnd: false };
const ijkl: Chunk = { start: 8, end: 12, data: text("ijkl"), messageEnd: true, appendEnd: true };
const mnop: Chunk = { start: 12, end: 16, data: text("mnop"), messageEnd: true, appendEnd: true };
const rows = [abcd, efgh, ijkl, mnop];

/** The rows overlapping [from, limit), as the repository selects them for gather. */
function between(from: number, limit: number): Chunk[] {
  return rows.filter((row) => row.end > from && row.start < limit);
}

const wide = { maxBytes: 1_000, jsonMode: false, stopAtAppendEnd: false };

function joined(segments: readonly { data: Uint8Array }[]): string {
  return segments.map((segment) => new TextDecoder().decode(segment.data)).join("|");
}

describe("toChunks", () => {
  it("lays messages out contiguously from the start position and marks each message end and the append end", () => {
    expect(layout(toChunks(10, [bytes(3), bytes(2)]))).toEqual([
      { start: 10, end: 13, messageEnd: true, appendEnd: false },
      { start: 13, end: 15, messageEnd: true, appendEnd: true },
    ]);
  });

  it("splits a message larger than ROW_BYTES into rows of at most ROW_BYTES, ending the message on the last", () => {
    const big = new Uint8Array(2 * ROW_BYTES + 5).map((_, index) => index % 253);
    const chunks = toChunks(0, [big, bytes(1)]);
    expect(layout(chunks)).toEqual([
      { start: 0, end: ROW_BYTES, messageEnd: false, appendEnd: false },
      { start: ROW_BYTES, end: 2 * ROW_BYTES, messageEnd: false, appendEnd: false },
      { start: 2 * ROW_BYTES, end: 2 * ROW_BYTES + 5, messageEnd: true, appendEnd: false },
      { start: 2 * ROW_BYTES + 5, end: 2 * ROW_BYTES + 6, messageEnd: true, appendEnd: true },
    ]);
    expect(messagesOf(chunks.slice(0, 3))).toEqual([big]);
  });

  it("keeps a message of exactly ROW_BYTES in one row and starts a second row one byte later", () => {
    expect(toChunks(0, [bytes(ROW_BYTES)])).toHaveLength(1);
    expect(layout(toChunks(0, [bytes(ROW_BYTES + 1)]))).toEqual([
      { start: 0, end: ROW_BYTES, messageEnd: false, appendEnd: false },
      { start: ROW_BYTES, end: ROW_BYTES + 1, messageEnd: true, appendEnd: true },
    ]);
  });

  it("produces no rows for no messages", () => {
    expect(toChunks(7, [])).toEqual([]);
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
