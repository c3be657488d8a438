// Where a stream's cold segments live in R2. Keys are deterministic (stream, generation, first
// position), so an offload that crashed after its put writes the same object again, and a deletion
// removes one generation's objects by prefix without touching a re-created stream's.

/** Positions are zero-padded so a listing returns a generation's segments in stream order. */
const POSITION_DIGITS = 16;

/** Every object of one generation of a stream. The trailing slash keeps generation 1 apart from 10. */
export function generationPrefix(stream: string, generation: number): string {
  return `streams/${encodeURIComponent(stream)}/${generation}/`;
}

export function segmentKey(stream: string, generation: number, start: number): string {
  return `${generationPrefix(stream, generation)}${String(start).padStart(POSITION_DIGITS, "0")}`;
}
