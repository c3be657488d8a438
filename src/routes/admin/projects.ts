// /v1/admin/projects...: create a project, read or update it, add and revoke secrets, mint tokens.
// Admin only (guard.ts). A secret value is returned once, when it is created, and never again.
import { sign } from "hono/jwt";
import { USER_CLAIM } from "../../auth/user";
import { PRESENCE_INFO_CLAIM } from "../../auth/presence-info";
import { projectStub } from "../../projects/stub";
import { ApiError, type ErrorCode } from "../../errors";
import type { AppContext } from "../../http/context";
import { readJson } from "../../http/json-body";
import { CreateProjectSchema, MintTokenSchema, ProjectNameSchema, UpdateProjectSchema } from "./bodies";

export function projectParam(c: AppContext): string {
  const parsed = ProjectNameSchema.safeParse(c.req.param("project"));
  if (!parsed.success) throw new ApiError("bad_request", "invalid project name");
  return parsed.data;
}

/** POST /v1/admin/projects {"project", "corsOrigins"?} → 201 with the first signing secret. */
export async function createProject(c: AppContext): Promise<Response> {
  const body = await readJson(c.req.raw, CreateProjectSchema);
  const created = await projectStub(c.env, body.project).create(body.project, body.corsOrigins);
  if (!created.ok) throw ApiError.from(created);
  return c.json({ project: body.project, kid: created.kid, secret: created.secret }, 201);
}

/** GET /v1/admin/projects/{project} → its CORS origins and secret ids (never secret values). */
export async function getProject(c: AppContext): Promise<Response> {
  const view = await projectStub(c.env, projectParam(c)).describe();
  if (!view) throw new ApiError("not_found", "project not found");
  return c.json(view);
}

/** PATCH /v1/admin/projects/{project} {"corsOrigins"?, "retention"?}. */
export async function updateProject(c: AppContext): Promise<Response> {
  const project = projectParam(c);
  const body = await readJson(c.req.raw, UpdateProjectSchema);
  const stub = projectStub(c.env, project);
  if (body.corsOrigins !== undefined) orThrowFailure(await stub.setCorsOrigins(body.corsOrigins));
  if (body.retention !== undefined) orThrowFailure(await stub.setRetention(body.retention));
  return getProject(c);
}

function orThrowFailure(result: { ok: true } | { ok: false; code: ErrorCode; message: string }): void {
  if (!result.ok) throw ApiError.from(result);
}

/** POST /v1/admin/projects/{project}/secrets → 201 {kid, secret}: rotation adds before it revokes. */
export async function addSecret(c: AppContext): Promise<Response> {
  const added = await projectStub(c.env, projectParam(c)).addSecret();
  if (!added.ok) throw ApiError.from(added);
  return c.json({ kid: added.kid, secret: added.secret }, 201);
}

/** DELETE /v1/admin/projects/{project}/secrets/{kid}: tokens signed with it stop working. */
export async function revokeSecret(c: AppContext): Promise<Response> {
  const revoked = await projectStub(c.env, projectParam(c)).revokeSecret(c.req.param("kid") ?? "");
  if (!revoked.ok) throw ApiError.from(revoked);
  return new Response(null, { status: 204 });
}

/** POST /v1/admin/projects/{project}/tokens {"scope", "ttlSeconds"?, "streams"?, "user"?} → a token signed with the newest secret. */
export async function mintToken(c: AppContext): Promise<Response> {
  const project = projectParam(c);
  const body = await readJson(c.req.raw, MintTokenSchema);
  const auth = await projectStub(c.env, project).auth();
  const key = auth?.keys.at(-1);
  if (!key) throw new ApiError("not_found", "project not found or has no secret");
  const exp = Math.floor(Date.now() / 1000) + body.ttlSeconds;
  // Every minted token has an id, so one leaked token can be revoked without its secret.
  const jti = crypto.randomUUID();
  const claims = { sub: project, scope: body.scope.join(" "), exp, jti, ...(body.streams ? { streams: body.streams } : {}), ...(body.user ? { [USER_CLAIM]: body.user } : {}), ...(body.info ? { [PRESENCE_INFO_CLAIM]: body.info } : {}) };
  const token = await sign(claims, key.secret, "HS256");
  return c.json({ token, expiresAt: new Date(exp * 1000).toISOString(), jti }, 201);
}
