// Rate limits on writes and subscribes, per project and per token, with Cloudflare's rate limiting
// binding (it also runs under wrangler dev). Only enforced when auth is on: a caller is then known.
import { ApiError } from "../errors";
import type { AppContext } from "../http/context";
import { rateLimitKeys } from "./access";

/** The limiters' period (wrangler.toml); a refused caller may retry after it. */
const PERIOD_SECONDS = 10;

export type Limited = "write" | "subscribe";

export async function enforceRateLimit(c: AppContext, kind: Limited, project: string): Promise<void> {
  const keys = rateLimitKeys(c, project);
  if (!keys) return;
  const projectLimiter = kind === "write" ? c.env.WRITE_LIMITER : c.env.SUBSCRIBE_LIMITER;
  const checks = [projectLimiter.limit({ key: `${kind}:project:${keys.project}` })];
  if (keys.token) checks.push(c.env.TOKEN_LIMITER.limit({ key: `${kind}:token:${keys.token}` }));
  const outcomes = await Promise.all(checks);
  if (outcomes.some((outcome) => !outcome.success)) {
    throw new ApiError("rate_limited", `too many ${kind}s; retry after ${PERIOD_SECONDS} s`, {
      "Retry-After": String(PERIOD_SECONDS),
    });
  }
}
