// DELETE /v1/estuary/subscribe/{project}/{stream} {"estuaryId"}: end one subscription.
import type { AppContext } from "../../http/context";
import { requireProjectScope, requireToken } from "../../auth/access";
import { addressOf } from "../../protocol/stream-address";
import { unsubscribe } from "../../estuary/subscriptions";
import { readJson, UnsubscribeBodySchema } from "./schemas";

export async function unsubscribeEstuary(c: AppContext): Promise<Response> {
  const source = c.get("address");
  requireProjectScope(c, source.project, "write");
  const body = await readJson(c.req.raw, UnsubscribeBodySchema);
  const estuary = addressOf(source.project, body.estuaryId);
  requireToken(c, estuary, "write");
  await unsubscribe(c.env, source, estuary);
  return new Response(null, { status: 204 });
}
