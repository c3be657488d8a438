// POST /v1/admin/projects/{project}/revocations {"jti"} or {"user"}, "ttlSeconds"?: tokens with that
// id, or naming that user, are refused from now on (this Worker at once, every Worker within
// AUTH_CACHE_MS), and the WebSockets opened with them close with 4401 within that time too. Admin
// only (guard.ts). The revocation ends after ttlSeconds (default and at most 30 days).
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { readJson } from "../../http/json-body";
import { forgetProjectAuth } from "../../projects/cache";
import { projectStub } from "../../projects/stub";
import { RevokeTokensSchema } from "./bodies";
import { projectParam } from "./projects";

export async function revokeTokens(c: AppContext): Promise<Response> {
  const project = projectParam(c);
  const body = await readJson(c.req.raw, RevokeTokensSchema);
  const expiresAt = Date.now() + body.ttlSeconds * 1000;
  const target = body.jti !== undefined ? { kind: "jti" as const, value: body.jti } : { kind: "user" as const, value: body.user ?? "" };
  const revoked = await projectStub(c.env, project).revokeTokens({ ...target, expiresAt });
  if (!revoked.ok) throw ApiError.from(revoked);
  forgetProjectAuth(project);
  return c.json({ [target.kind]: target.value, expiresAt: new Date(expiresAt).toISOString() }, 201);
}
