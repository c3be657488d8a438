// GET and DELETE /v1/estuary/{project}/{estuaryId}: describe an estuary, or remove it entirely.
import type { AppContext } from "../../http/context";
import { parseAddress } from "../../http/stream-path";
import { deleteEstuary, describeEstuary } from "../subscriptions";

export const ESTUARY_PREFIX = "/v1/estuary/";

export async function getEstuary(c: AppContext): Promise<Response> {
  return c.json(await describeEstuary(c.env, parseAddress(c.req.path.slice(ESTUARY_PREFIX.length))));
}

export async function removeEstuary(c: AppContext): Promise<Response> {
  await deleteEstuary(c.env, parseAddress(c.req.path.slice(ESTUARY_PREFIX.length)));
  return new Response(null, { status: 204 });
}
