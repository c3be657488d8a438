// Verifies project tokens: HS256 JWTs signed with one of the project's secrets (hono/jwt does the
// crypto). Claims: sub = project, scope, exp (required, at most MAX_TOKEN_LIFETIME_SECONDS out), and
// optionally the streams it is limited to.
import { decode, verify } from "hono/jwt";
import { z } from "zod";
import { fail, type Failure } from "../errors";
import type { ProjectAuth } from "../projects/project-do";
import { SCOPES, type Scope } from "../contract/scopes";
import { StreamLimitsSchema } from "./reach";
import { USER_CLAIM, UserIdSchema } from "./user";
import { PRESENCE_INFO_CLAIM, PresenceInfoSchema, type PresenceInfo } from "./presence-info";

export { SCOPES, type Scope } from "../contract/scopes";

const ScopeSchema = z.enum(SCOPES);

/**
 * Tokens live at most 30 days, minted or signed by a project's own backend: a leaked token, and a
 * WebSocket opened with one, ends by itself. Long-lived access is a secret, not a token.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;
/** Clocks of the backends that sign tokens may run this far ahead of ours. */
export const CLOCK_SKEW_SECONDS = 60;

const ClaimsSchema = z.object({
  sub: z.string().min(1).max(128),
  exp: z.number().int(),
  scope: z.union([z.string().transform((value) => value.split(" ").filter(Boolean)), z.array(z.string())]).pipe(z.array(ScopeSchema).min(1)),
  /** Stream names, or prefixes ending in "*", this token may touch. Absent: every stream of the project. */
  streams: StreamLimitsSchema.optional(),
  /** The user the token acts for (presence, revocation by user); absent: nobody in particular. */
  [USER_CLAIM]: UserIdSchema.optional(),
  /** The token's id, so it alone can be revoked. */
  jti: z.string().min(1).max(128).optional(),
  /** Shown with the user in presence (auth/presence-info.ts). */
  [PRESENCE_INFO_CLAIM]: PresenceInfoSchema.optional(),
});

export interface Principal {
  project: string;
  scopes: ReadonlySet<Scope>;
  streams: readonly string[] | null;
  /** Identifies the token for per-token rate limits. */
  tokenKey: string;
  /** When the token expires (ms since epoch): a WebSocket opened with it is closed then. */
  expiresAt: number;
  /**
   * The id of the project secret that signed it: a WebSocket opened with it is closed when that
   * secret is revoked. Null for a token from one of the project's issuers (their keys are theirs).
   */
  kid: string | null;
  /** The user the token names, or null. */
  user: string | null;
  /** The token's id (`jti`), or null. */
  jti: string | null;
  /** The user's presence info (auth/presence-info.ts), or null. */
  info: PresenceInfo | null;
}

export const MAX_TOKEN_LENGTH = 4096;

/** The project named in an unverified token, used to pick which project's secrets to check. */
export function claimedProject(token: string): string | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  try {
    const sub = decode(token).payload.sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}

export async function verifyToken(token: string, auth: ProjectAuth, now = Date.now()): Promise<Principal | Failure> {
  const unauthorized = (message: string) => fail("unauthorized", message, { "WWW-Authenticate": 'Bearer realm="streams"' });
  let decoded: unknown;
  try {
    decoded = decode(token).header;
  } catch {
    return unauthorized("malformed token");
  }
  // A header of JSON null (or any non-object) is malformed, not a crash.
  if (typeof decoded !== "object" || decoded === null) return unauthorized("malformed token");
  const header = decoded as { kid?: unknown; alg?: unknown };
  if (header.alg !== "HS256") return unauthorized("tokens must be HS256 JWTs");
  const candidates = typeof header.kid === "string" ? auth.keys.filter((key) => key.kid === header.kid) : auth.keys;
  for (const key of candidates) {
    try {
      const payload = await verify(token, key.secret, "HS256");
      if (payload.exp === undefined) return unauthorized(`token has no exp claim; tokens must expire within ${MAX_TOKEN_LIFETIME_SECONDS / 86_400} days`);
      const claims = ClaimsSchema.safeParse(payload);
      if (!claims.success) return unauthorized(`token claims must include sub, scope and exp (and ${USER_CLAIM}, jti: 1-128 characters; ${PRESENCE_INFO_CLAIM}: a JSON object of at most 1 KiB)`);
      if (claims.data.exp > Math.floor(now / 1000) + MAX_TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) {
        return unauthorized(`token exp is more than ${MAX_TOKEN_LIFETIME_SECONDS / 86_400} days away; tokens live at most that long`);
      }
      return {
        project: claims.data.sub,
        scopes: new Set(claims.data.scope),
        streams: claims.data.streams ?? null,
        tokenKey: token.slice(token.lastIndexOf(".") + 1),
        expiresAt: claims.data.exp * 1000,
        kid: key.kid,
        user: claims.data[USER_CLAIM] ?? null,
        jti: claims.data.jti ?? null,
        info: claims.data[PRESENCE_INFO_CLAIM] ?? null,
      };
    } catch (error) {
      if (error instanceof Error && error.name === "JwtTokenExpired") return unauthorized("token expired");
      if (error instanceof Error && error.name !== "JwtTokenSignatureMismatched") {
        return unauthorized("token is not valid");
      }
    }
  }
  return unauthorized("token signature does not match any current secret of the project");
}
