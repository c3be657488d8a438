// Guards /v1/admin/*: a Bearer token equal to the ADMIN_TOKEN secret, compared in constant time.
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../../config";
import { ApiError } from "../../errors";
import type { AppEnv } from "../../http/context";

const MIN_ADMIN_TOKEN_LENGTH = 16;

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const expected = loadConfig(c.env).ADMIN_TOKEN;
  // A short admin secret would be guessable: the admin API stays off rather than weakly guarded.
  if (!expected || expected.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ApiError("not_found", `the admin API is not enabled (set an ADMIN_TOKEN secret of ${MIN_ADMIN_TOKEN_LENGTH}+ characters)`);
  }
  const given = /^Bearer (.+)$/.exec(c.req.header("Authorization") ?? "")?.[1];
  if (!given || !(await sameSecret(given, expected))) {
    throw new ApiError("unauthorized", "admin token required", { "WWW-Authenticate": 'Bearer realm="admin"' });
  }
  await next();
});

/** Compares digests, so neither the length nor the content of the secret leaks through timing. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
