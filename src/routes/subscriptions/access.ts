// Who may use the reserved subscription APIs. With auth on, managing a subscription (and claiming
// its work) needs a project token, and a subscription belongs to the project whose token made it;
// it may cover only streams that token could read, and append wake events only where it could
// write. Callbacks, acks and releases are authorized by their callback token instead (answer.ts).
import { requireProjectScope, requireToken } from "../../auth/access";
import type { Scope } from "../../auth/token";
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { addressOf } from "../../protocol/stream-address";
import type { SubscriptionConfig } from "../../subscriptions/config";
import { parsePattern, parseStreamRef } from "../../subscriptions/paths";

/** The caller's project (null with auth off), after checking it holds `scope` there. */
export function ownerOf(c: AppContext, scope: Scope): string | null {
  const caller = c.get("caller");
  if (caller.kind === "unrestricted") return null;
  if (caller.kind === "anonymous") {
    throw new ApiError("unauthorized", "a token is required", { "WWW-Authenticate": 'Bearer realm="streams"' });
  }
  requireProjectScope(c, caller.principal.project, scope);
  return caller.principal.project;
}

/** Throws 403 unless the caller's token could read every stream the configuration covers. */
export function requireCoverage(c: AppContext, config: SubscriptionConfig): void {
  const caller = c.get("caller");
  if (caller.kind !== "token") return;
  const { principal } = caller;
  const pattern = config.pattern ? parsePattern(config.pattern) : null;
  if (pattern) {
    if (pattern.glob === "*" || pattern.glob === "**") {
      const everyStream = principal.streams === null || principal.streams.includes("*");
      if (pattern.project !== principal.project || !everyStream) throw new ApiError("forbidden", "the token cannot read every stream the pattern covers");
    } else {
      requireToken(c, addressOf(pattern.project, pattern.glob), "read");
    }
  }
  for (const path of config.streams) {
    const ref = parseStreamRef(path);
    if (ref) requireToken(c, ref.address, "read");
  }
  const wake = config.wake_stream ? parseStreamRef(config.wake_stream) : null;
  if (wake) requireToken(c, wake.address, "write");
}
