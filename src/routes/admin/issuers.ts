// POST, GET and DELETE /v1/admin/projects/{project}/issuers: the auth providers whose tokens the
// project accepts (src/projects/issuers.ts). Admin only (guard.ts). A jwksUrl must pass the webhook
// URL rules (https to a public address; loopback only with WEBHOOK_ALLOW_LOOPBACK on). Changes reach
// every Worker within AUTH_CACHE_MS.
import { loadConfig } from "../../config";
import { ApiError } from "../../errors";
import type { AppContext } from "../../http/context";
import { readJson } from "../../http/json-body";
import { forgetProjectAuth } from "../../projects/cache";
import { projectStub } from "../../projects/stub";
import { checkWebhookUrl } from "../../http/outbound-url";
import { parseOr400 } from "../../validation";
import { IssuerQuerySchema, NewIssuerSchema } from "./bodies";
import { projectParam } from "./projects";

/** POST .../issuers {"issuer", "jwksUrl", "audience"?, "userClaim"?, "scopes"?, "streamsClaim"?} → 201 the issuer as stored. */
export async function addIssuer(c: AppContext): Promise<Response> {
  const project = projectParam(c);
  const body = await readJson(c.req.raw, NewIssuerSchema);
  const url = checkWebhookUrl(body.jwksUrl, loadConfig(c.env).WEBHOOK_ALLOW_LOOPBACK === "on", "jwksUrl");
  if (!url.ok) throw new ApiError("bad_request", url.message);
  const added = await projectStub(c.env, project).addIssuer({ ...body, jwksUrl: url.url });
  if (!added.ok) throw ApiError.from(added);
  forgetProjectAuth(project);
  return c.json(added.issuer, 201);
}

/** GET .../issuers → {"issuers": [...]}. */
export async function listIssuers(c: AppContext): Promise<Response> {
  const listed = await projectStub(c.env, projectParam(c)).listIssuers();
  if (!listed.ok) throw ApiError.from(listed);
  return c.json({ issuers: listed.issuers });
}

/** DELETE .../issuers?issuer=<iss> → 204: its tokens stop working. */
export async function removeIssuer(c: AppContext): Promise<Response> {
  const project = projectParam(c);
  const query = parseOr400(IssuerQuerySchema, c.req.query(), "the query");
  const removed = await projectStub(c.env, project).removeIssuer(query.issuer);
  if (!removed.ok) throw ApiError.from(removed);
  forgetProjectAuth(project);
  return new Response(null, { status: 204 });
}
