// Who may use the reserved subscription APIs. With auth on, managing a subscription (and claiming
// its work) needs a project token, and a subscription belongs to the project whose token made it.
// The token must reach every stream the subscription covers (src/subscriptions/coverage.ts): checked
// here for a new configuration, and by the subscription's object for what it covers now.
// Callbacks, acks and releases are authorized by their callback token instead (answer.ts).
import { requireProjectScope } from "../../auth/access";
import type { Reach } from "../../auth/reach";
import type { Scope } from "../../auth/token";
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { coverageDenial, type Covered } from "../../subscriptions/coverage";

/** What the caller's token reaches (null with auth off), after checking it holds `scope` in its project. */
export function reachOf(c: AppContext, scope: Scope): Reach | null {
  const caller = c.get("caller");
  if (caller.kind === "unrestricted") return null;
  if (caller.kind === "anonymous") {
    throw new ApiError("unauthorized", "a token is required", { "WWW-Authenticate": 'Bearer realm="streams"' });
  }
  requireProjectScope(c, caller.principal.project, scope);
  return { project: caller.principal.project, streams: caller.principal.streams };
}

/** Throws 403 unless the caller's token reaches every stream the configuration covers. */
export function requireCoverage(reach: Reach | null, covered: Covered): void {
  const denial = reach && coverageDenial(reach, covered);
  if (denial) throw new ApiError("forbidden", denial);
}
