// Who is calling, and whether they may touch a stream with a scope. Authentication runs once per
// request (middleware); every route handler then states what it touches through requireAccess.
import { createMiddleware } from "hono/factory";
import { loadConfig } from "../config";
import { ApiError } from "../errors";
import type { AppContext, AppEnv } from "../http/context";
import { DEFAULT_PROJECT, STREAM_PREFIX, type StreamAddress } from "../protocol/stream-address";
import { reachesEveryStream, reachesStream } from "./reach";
import type { Principal, Scope } from "./token";
import { verifyBearer } from "./verify";

export type Caller =
  /** Auth is off (local development): everything is allowed. */
  | { kind: "unrestricted" }
  | { kind: "anonymous" }
  | { kind: "token"; principal: Principal };

/**
 * "public-only": the read may be answered only if the stream turns out to be public; otherwise the
 * caller gets `denial` (401 for anonymous callers, 403 for a token that does not cover the stream).
 */
export type Access = { kind: "granted" } | { kind: "public-only"; denial: ApiError };

const GRANTED: Access = { kind: "granted" };

const RANK: Record<Scope, number> = { read: 1, write: 2, manage: 3 };

export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  c.set("caller", await identify(c));
  await next();
});

async function identify(c: AppContext): Promise<Caller> {
  const config = loadConfig(c.env);
  if (config.AUTH_MODE === "off") return { kind: "unrestricted" };
  const header = c.req.header("Authorization") ?? socketToken(c);
  if (header === undefined) return { kind: "anonymous" };
  const token = /^Bearer (.+)$/.exec(header)?.[1];
  if (token === undefined) throw unauthorized("Authorization must be a Bearer token (a project JWT), or ?token= on a WebSocket upgrade");
  const principal = await verifyBearer(c.env, token, c.get("project"));
  if ("ok" in principal) throw ApiError.from(principal);
  return { kind: "token", principal };
}

/**
 * Browsers cannot set headers on a WebSocket upgrade, so a live=ws read may carry its token as
 * `?token=` (mint short-lived read tokens for it: URLs end up in logs). Other requests may not.
 */
function socketToken(c: AppContext): string | undefined {
  const token = c.req.query("token");
  return token !== undefined && c.req.query("live") === "ws" ? `Bearer ${token}` : undefined;
}

/** Throws 401/403 unless the caller may use `scope` on the stream; may leave a public check to the object. */
export function requireAccess(c: AppContext, address: StreamAddress, scope: Scope): Access {
  const caller = c.get("caller");
  if (caller.kind === "unrestricted") return GRANTED;
  const denial = caller.kind === "anonymous" ? unauthorized("a token is required") : tokenDenial(caller.principal, address, scope);
  if (!denial) return GRANTED;
  // Public streams are readable by anyone, including callers holding a token for something else.
  if (scope === "read") return { kind: "public-only", denial };
  throw denial;
}

/** Throws unless the caller may use `scope` somewhere in `project` (checked before reading a body). */
export function requireProjectScope(c: AppContext, project: string, scope: Scope): void {
  const caller = c.get("caller");
  if (caller.kind === "unrestricted") return;
  if (caller.kind === "anonymous") throw unauthorized("a token is required");
  if (caller.principal.project !== project) throw forbidden("the token is for another project");
  if (!holds(caller.principal, scope)) throw forbidden(`the token lacks the ${scope} scope`);
}

/**
 * Like requireProjectScope, for what spans every stream of the project (its connection totals): a
 * token limited to some streams, such as one minted for a browser's channel, is refused.
 */
export function requireWholeProject(c: AppContext, project: string, scope: Scope): void {
  requireProjectScope(c, project, scope);
  const caller = c.get("caller");
  if (caller.kind === "token" && !reachesEveryStream(caller.principal, project)) throw forbidden("the token is limited to some streams; this route spans the whole project");
}

/** Why the token may not use `scope` on the stream, or null: the one coverage rule, also for a socket's refresh. */
export function tokenDenial(principal: Principal, address: StreamAddress, scope: Scope): ApiError | null {
  if (principal.project !== address.project) return forbidden(otherProject(principal.project, address));
  if (!holds(principal, scope)) return forbidden(`the token lacks the ${scope} scope`);
  if (!reachesStream(principal, address)) return forbidden("the token is limited to other streams");
  return null;
}

/**
 * `/v1/stream/acme` is stream acme of project default, which a caller holding an acme token easily
 * takes for "project acme": say so, rather than a bare "another project" that reads as a bug.
 */
function otherProject(tokenProject: string, address: StreamAddress): string {
  if (address.project !== DEFAULT_PROJECT || address.stream !== tokenProject) return "the token is for another project";
  const path = `${STREAM_PREFIX}${tokenProject}`;
  return `this token is for project ${tokenProject}; ${path} is stream ${tokenProject} of project ${DEFAULT_PROJECT} — use ${path}/{stream}`;
}

function holds(principal: Principal, scope: Scope): boolean {
  return [...principal.scopes].some((held) => RANK[held] >= RANK[scope]);
}

/** Like requireAccess, for operations that always need a token (writes, estuary routes). */
export function requireToken(c: AppContext, address: StreamAddress, scope: Scope): void {
  const access = requireAccess(c, address, scope);
  if (access.kind === "public-only") throw access.denial;
}

/** The caller's identity for rate limits, or null when auth is off. */
export function rateLimitKeys(c: AppContext, project: string): { project: string; token: string | null } | null {
  const caller = c.get("caller");
  if (caller.kind === "unrestricted") return null;
  return { project, token: caller.kind === "token" ? caller.principal.tokenKey : null };
}

function unauthorized(message: string): ApiError {
  return new ApiError("unauthorized", message, { "WWW-Authenticate": 'Bearer realm="streams"' });
}

function forbidden(message: string): ApiError {
  return new ApiError("forbidden", message);
}
