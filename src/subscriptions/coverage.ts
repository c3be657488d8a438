// Which token may act on a subscription: one that reaches every stream the subscription covers
// (its pattern, its explicit streams, its wake stream). It is the rule for creating one, and the
// same rule for reading, changing, deleting and claiming it, so a token limited to some streams
// (a browser's, say) never reaches a subscription that spans others. The route checks a new
// configuration with it; the object checks what it covers now, links added later included.
import { reachesEveryStream, reachesStream, type Reach } from "../auth/reach";
import { addressOf } from "../protocol/stream-address";
import { parsePattern, parseStreamRef } from "./paths";

export interface Covered {
  pattern?: string | undefined;
  /** Explicit stream paths. */
  streams: readonly string[];
  wake_stream?: string | undefined;
}

/** Why the token may not act on a subscription covering `covered`, or null if it may. */
export function coverageDenial(reach: Reach, covered: Covered): string | null {
  if (covered.pattern !== undefined) {
    const pattern = parsePattern(covered.pattern);
    const every = pattern !== null && (pattern.glob === "*" || pattern.glob === "**");
    const reached = pattern !== null && (every ? reachesEveryStream(reach, pattern.project) : reachesStream(reach, addressOf(pattern.project, pattern.glob)));
    if (!reached) return `the token does not reach every stream the pattern ${covered.pattern} covers`;
  }
  const paths = covered.wake_stream === undefined ? covered.streams : [...covered.streams, covered.wake_stream];
  for (const path of paths) {
    const ref = parseStreamRef(path);
    if (!ref || !reachesStream(reach, ref.address)) return `the token does not reach the stream ${path}`;
  }
  return null;
}
