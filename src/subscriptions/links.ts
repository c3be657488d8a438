// A subscription's links as the protocol reports them: offsets, pending work, and the checks an ack
// must pass (protocol §7: known stream, not -1, no regression, not beyond the tail).
import { addGap } from "../contract/gaps";
import { formatOffset, parseOffset } from "../protocol/offsets";
import { dsFail, type DsFailure } from "./errors";
import type { Link, StreamInfo } from "./repository";

/** The acked position; "-1" (before the first byte) is position 0; null while unknown. */
export function ackedPosition(link: Link): number | null {
  if (link.acked === null) return null;
  if (link.acked === "-1") return 0;
  const offset = parseOffset(link.acked);
  return offset?.kind === "at" ? offset.position : 0;
}

export function isPending(link: Link): boolean {
  const acked = ackedPosition(link);
  return acked !== null && link.tail > acked;
}

export function infoOf(link: Link): StreamInfo {
  return {
    path: link.path,
    link_type: link.explicit ? "explicit" : "glob",
    acked_offset: link.acked ?? formatOffset(link.tail),
    tail_offset: formatOffset(link.tail),
    has_pending: isPending(link),
  };
}

export interface Ack {
  stream?: string | undefined;
  path?: string | undefined;
  offset: string;
}

/** The position an ack moves its link to, or why it may not. `tail` is the stream's freshest known tail. */
/** Whether an ack names a position past `tail` (which a fresher look at the stream may still allow). */
export function ackBeyondTail(offset: string, tail: number): boolean {
  const parsed = parseOffset(offset);
  return parsed?.kind === "at" && parsed.position > tail;
}

export function checkAck(link: Link | null, offset: string, tail: number): { ok: true; position: number } | DsFailure {
  if (!link) return dsFail("INVALID_OFFSET", "ack names a stream this subscription does not cover");
  if (offset === "-1") return dsFail("INVALID_OFFSET", "ack offset must not be -1");
  const parsed = parseOffset(offset);
  if (parsed?.kind !== "at") return dsFail("INVALID_OFFSET", "ack offset is not an offset");
  if (parsed.position < (ackedPosition(link) ?? 0)) return dsFail("INVALID_OFFSET", "ack offset regresses the acked offset");
  if (ackBeyondTail(offset, tail)) return dsFail("INVALID_OFFSET", "ack offset is beyond the stream's tail");
  return { ok: true, position: parsed.position };
}

/**
 * Retention trimmed the linked stream to `earliest`, past the acked offset (and the hold cap): the
 * acked offset jumps there and the gap is counted on the link. Null when the link is at or past it
 * already (a repeated call, or an ack that came first), so the jump happens once.
 */
export function jumpOver(link: Link, earliest: number, messages: number | null, now: number): Link | null {
  const acked = ackedPosition(link);
  if (acked === null || acked >= earliest) return null;
  return { ...link, acked: formatOffset(earliest), tail: Math.max(link.tail, earliest), gaps: addGap(link.gaps ?? null, { from: acked, to: earliest, messages, at: now }) };
}
