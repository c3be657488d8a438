// GET /v1/presence/{project}/{stream}: who is present on the stream (read scope on the stream, or
// none on a public one). Answered by the stream's own object alone; no other object is woken.
import { requireAccess } from "../../auth/access";
import type { AppContext } from "../../http/context";
import { streamStub } from "../../stream/stub";
import { parseOr400 } from "../../validation";
import { denyPrivate, orThrow } from "../streams/response";
import { SnapshotQuerySchema, type SnapshotBody } from "./schemas";

export async function getPresence(c: AppContext): Promise<Response> {
  const address = c.get("address");
  const access = requireAccess(c, address, "read");
  const query = parseOr400(SnapshotQuerySchema, c.req.query(), "the query");
  // Without read access the snapshot is answered only for a public stream, like the stream's own reads.
  const requirePublic = access.kind === "public-only";
  const answer = await streamStub(c.env, address.key).presenceSnapshot({ after: query.after ?? null, limit: query.limit, requirePublic });
  const result = orThrow(denyPrivate(answer, access));
  const users = result.users.map((entry) => ({
    user: entry.user,
    connections: entry.connections,
    since: new Date(entry.since).toISOString(),
    ...(entry.info === null ? {} : { info: JSON.parse(entry.info) as Record<string, unknown> }),
  }));
  const body: SnapshotBody = { users, total: result.total };
  const last = users.at(-1);
  if (last && users.length === query.limit && result.total > 0) body.next = last.user;
  return c.json(body);
}
