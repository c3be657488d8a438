// What a token reaches: its project, and the streams it may be limited to. This is the one rule of
// stream coverage: the routes (access.ts) and the objects that act on a token's behalf (a
// subscription asked to show, change or hand out its work) all decide with these functions.
import { z } from "zod";
import type { StreamAddress } from "../protocol/stream-address";

/** A token's `streams` claim: stream names (128 characters at most), or prefixes ending in "*". */
export const StreamLimitsSchema = z.array(z.string().min(1).max(129)).max(100);

export const ReachSchema = z.object({
  project: z.string().min(1).max(128),
  /** Stream names, or prefixes ending in "*", the token is limited to; null: every stream of the project. */
  streams: StreamLimitsSchema.readonly().nullable(),
});
export type Reach = z.infer<typeof ReachSchema>;

/** Whether the token may touch this stream (its scope is checked apart). */
export function reachesStream(reach: Reach, address: StreamAddress): boolean {
  if (reach.project !== address.project) return false;
  return reach.streams === null || reach.streams.some((allowed) => matchesStream(allowed, address.stream));
}

/** Whether the token reaches every stream of the project, those not created yet included. */
export function reachesEveryStream(reach: Reach, project: string): boolean {
  return reach.project === project && (reach.streams === null || reach.streams.includes("*"));
}

function matchesStream(allowed: string, stream: string): boolean {
  return allowed.endsWith("*") ? stream.startsWith(allowed.slice(0, -1)) : allowed === stream;
}
