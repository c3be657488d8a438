// The row layout of a cold segment, kept in its SQLite row: where each stored row lies in the object,
// its checksum, and the message and append ends the hot row carried. Reads then fetch only the rows
// they need with one ranged get and still know every boundary (JSON streams never split a message).
import type { Chunk } from "../repository";

/** One stored row inside a segment object. */
export interface IndexedRow {
  /** Where the row starts in the object (and, added to the segment's start, in the stream). */
  offset: number;
  length: number;
  crc: number;
  messageEnd: boolean;
  appendEnd: boolean;
  innerEnds: readonly number[];
}

const MESSAGE_END = 1;
const APPEND_END = 2;
/** Per row: length (u32), crc (u32), flags (u8), inner end count (u32); then each inner end (u32). */
const ROW_HEADER_BYTES = 13;

export function indexBytesOf(chunk: Chunk): number {
  return ROW_HEADER_BYTES + 4 * chunk.innerEnds.length;
}

export function encodeIndex(rows: readonly { chunk: Chunk; crc: number }[]): Uint8Array {
  const bytes = new Uint8Array(rows.reduce((sum, row) => sum + indexBytesOf(row.chunk), 0));
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const { chunk, crc } of rows) {
    view.setUint32(at, chunk.end - chunk.start, true);
    view.setUint32(at + 4, crc, true);
    view.setUint8(at + 8, (chunk.messageEnd ? MESSAGE_END : 0) | (chunk.appendEnd ? APPEND_END : 0));
    view.setUint32(at + 9, chunk.innerEnds.length, true);
    at += ROW_HEADER_BYTES;
    for (const end of chunk.innerEnds) {
      view.setUint32(at, end, true);
      at += 4;
    }
  }
  return bytes;
}

export function decodeIndex(bytes: Uint8Array): IndexedRow[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: IndexedRow[] = [];
  let offset = 0;
  for (let at = 0; at + ROW_HEADER_BYTES <= bytes.length; ) {
    const length = view.getUint32(at, true);
    const flags = view.getUint8(at + 8);
    const count = view.getUint32(at + 9, true);
    const innerEnds: number[] = [];
    for (let i = 0; i < count; i++) innerEnds.push(view.getUint32(at + ROW_HEADER_BYTES + 4 * i, true));
    rows.push({ offset, length, crc: view.getUint32(at + 4, true), messageEnd: (flags & MESSAGE_END) !== 0, appendEnd: (flags & APPEND_END) !== 0, innerEnds });
    offset += length;
    at += ROW_HEADER_BYTES + 4 * count;
  }
  return rows;
}
