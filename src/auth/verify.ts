// The one verifier of bearer tokens, for HTTP requests (access.ts) and for a token an open
// WebSocket sends to refresh itself (stream/socket-refresh.ts): a project's own HS256 token
// (token.ts) or a token from one of the project's issuers (issuer-token.ts), then the project's
// revocations (a revoked jti or user is refused). Project data comes from the per-isolate cache.
import { loadConfig } from "../config";
import type { Env } from "../env";
import { fail, type Failure } from "../errors";
import { projectAuth } from "../projects/cache";
import type { ProjectAuth } from "../projects/project-do";
import { unverifiedIssuer, verifyIssuerToken } from "./issuer-token";
import { claimedProject, verifyToken, type Principal } from "./token";

const JWT_SHAPE = /^[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+$/;
const NOT_A_JWT = "the bearer token is not a valid JWT (a project token has three base64url parts and a sub claim)";

function unauthorized(message: string): Failure {
  return fail("unauthorized", message, { "WWW-Authenticate": 'Bearer realm="streams"' });
}

/** `routeProject`: the project the request's path names; an issuer's token is taken only there. */
export async function verifyBearer(env: Env, token: string, routeProject: string | undefined): Promise<Principal | Failure> {
  // A Bearer token that is not a JWT at all is a different mistake from a wrong scheme: say which.
  const unverified = JWT_SHAPE.test(token) ? unverifiedIssuer(token) : null;
  if (!unverified) return unauthorized(NOT_A_JWT);
  const config = loadConfig(env);
  // The project's own tokens are HS256; anything else can only come from one of its issuers.
  let project: string;
  let auth: ProjectAuth | null;
  let principal: Principal | Failure;
  if (unverified.alg === "HS256") {
    const claimed = claimedProject(token);
    if (!claimed) return unauthorized(NOT_A_JWT);
    project = claimed;
    auth = await projectAuth(env, project, config.AUTH_CACHE_MS);
    if (!auth) return unauthorized("token is not valid");
    principal = await verifyToken(token, auth);
  } else {
    if (typeof unverified.alg === "string" && unverified.alg.toLowerCase() === "none") return unauthorized("unsigned tokens (alg none) are refused");
    if (routeProject === undefined) return unauthorized("a token from an auth provider is accepted only on routes that name a project");
    project = routeProject;
    auth = typeof unverified.iss === "string" ? await projectAuth(env, project, config.AUTH_CACHE_MS) : null;
    const issuer = auth?.issuers.find((candidate) => candidate.issuer === unverified.iss);
    if (!auth || !issuer) return unauthorized(`the token is not HS256 (a project token) and its iss is not an issuer of project ${project}`);
    principal = await verifyIssuerToken(token, project, issuer, config.WEBHOOK_ALLOW_LOOPBACK === "on");
  }
  if ("ok" in principal) return principal;
  return revoked(principal, auth) ? unauthorized("token revoked") : principal;
}

/** Whether the project revoked the token's id or its user. */
function revoked(principal: Principal, auth: ProjectAuth): boolean {
  return (principal.jti !== null && auth.revoked.jtis.includes(principal.jti)) || (principal.user !== null && auth.revoked.users.includes(principal.user));
}
