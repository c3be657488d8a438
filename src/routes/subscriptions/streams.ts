// POST /v1/stream/__ds/subscriptions/{id}/streams {"streams"}: link explicit streams (204).
// DELETE /v1/stream/__ds/subscriptions/{id}/streams/{path}: unlink one (204). Auth on: `manage`,
// with a token reaching every stream the subscription covers, and those it adds.
import { subscriptionStub } from "../../subscriptions/stub";
import type { AppContext } from "../../http/context";
import { DsError, dsFail } from "../../subscriptions/errors";
import { parseStreamRef } from "../../subscriptions/paths";
import { reachOf } from "./access";
import { AddStreamsSchema, orThrow, readDsJson } from "./schemas";

export async function addStreams(c: AppContext): Promise<Response> {
  const reach = reachOf(c, "manage");
  const { streams } = await readDsJson(c, AddStreamsSchema);
  const refs = streams.map(parseStreamRef);
  const paths = refs.map((ref) => ref?.path);
  if (paths.some((path) => path === undefined)) throw new DsError(dsFail("INVALID_REQUEST", "streams must be stream paths: `project/stream` or `stream`"));
  const valid = paths.filter((path): path is string => path !== undefined);
  orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").addStreams(reach, valid));
  return c.body(null, 204);
}

export async function removeStream(c: AppContext): Promise<Response> {
  const reach = reachOf(c, "manage");
  const path = c.req.param("path") ?? "";
  if (!parseStreamRef(path)) throw new DsError(dsFail("INVALID_REQUEST", "not a stream path: `project/stream` or `stream`"));
  orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").removeStream(reach, path));
  return c.body(null, 204);
}
