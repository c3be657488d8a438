// Rate limits on writes and subscribes (per project and per token) and on WebSocket upgrades (per
// token), with Cloudflare's rate limiting binding (it also runs under wrangler dev). Only enforced
// when auth is on: a caller is then known.
import { ApiError } from "../errors";
import type { AppContext } from "../http/context";
import { rateLimitKeys } from "./access";

/** The limiters' period (wrangler.toml); a refused caller may retry after it. */
const PERIOD_SECONDS = 10;

export type Limited = "write" | "subscribe" | "upgrade";

export async function enforceRateLimit(c: AppContext, kind: Limited, project: string): Promise<void> {
  const keys = rateLimitKeys(c, project);
  if (!keys) return;
  const checks: Promise<RateLimitOutcome>[] = [];
  if (kind === "upgrade") {
    // WebSocket upgrades per token; an anonymous reader of a public stream has no token, so per address.
    const who = keys.token ? `token:${keys.token}` : `ip:${c.req.header("CF-Connecting-IP") ?? "unknown"}`;
    checks.push(c.env.UPGRADE_LIMITER.limit({ key: `upgrade:${who}` }));
  } else {
    const projectLimiter = kind === "write" ? c.env.WRITE_LIMITER : c.env.SUBSCRIBE_LIMITER;
    checks.push(projectLimiter.limit({ key: `${kind}:project:${keys.project}` }));
    if (keys.token) checks.push(c.env.TOKEN_LIMITER.limit({ key: `${kind}:token:${keys.token}` }));
  }
  const outcomes = await Promise.all(checks);
  if (outcomes.some((outcome) => !outcome.success)) {
    throw new ApiError("rate_limited", `too many ${kind}s; retry after ${PERIOD_SECONDS} s`, {
      "Retry-After": String(PERIOD_SECONDS),
    });
  }
}
