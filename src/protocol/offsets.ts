// Offsets: the two-part, zero-padded, lexicographically sortable position tokens.
//
// The first part is reserved (always zero) and the second is the stream position, a count of
// stored bytes, so string order equals position order and forks share their source's offsets.

const DIGITS = 16;
const PREFIX = "0".repeat(DIGITS) + "_";
const OFFSET_PATTERN = /^(\d{16})_(\d{16})$/;

export type OffsetQuery = { kind: "start" } | { kind: "now" } | { kind: "at"; position: number };

export function formatOffset(position: number): string {
  return PREFIX + String(position).padStart(DIGITS, "0");
}

/** Parses a client-supplied offset; null means malformed (answer 400). */
export function parseOffset(raw: string): OffsetQuery | null {
  if (raw === "-1") return { kind: "start" };
  if (raw === "now") return { kind: "now" };
  const match = OFFSET_PATTERN.exec(raw);
  if (!match || match[1] !== "0".repeat(DIGITS)) return null;
  const position = Number(match[2]);
  return Number.isSafeInteger(position) ? { kind: "at", position } : null;
}
