// How a row stores where messages end inside it: little-endian u32 offsets from the row's start,
// NULL when there are none.

export function encodeEnds(ends: readonly number[]): Uint8Array | null {
  if (ends.length === 0) return null;
  const bytes = new Uint8Array(ends.length * 4);
  const view = new DataView(bytes.buffer);
  ends.forEach((end, index) => view.setUint32(index * 4, end, true));
  return bytes;
}

export function decodeEnds(stored: ArrayBuffer | null): number[] {
  if (stored === null) return [];
  const view = new DataView(stored);
  const ends: number[] = [];
  for (let offset = 0; offset + 4 <= stored.byteLength; offset += 4) ends.push(view.getUint32(offset, true));
  return ends;
}
