// GET /v1/stream/__ds/subscriptions/{id}: the subscription, its links and acked offsets. Auth on: `manage`, with a token reaching every stream it covers.
import { subscriptionStub } from "../../subscriptions/stub";
import type { AppContext } from "../../http/context";
import { reachOf } from "./access";
import { orThrow, present } from "./schemas";

export async function getSubscription(c: AppContext): Promise<Response> {
  const reach = reachOf(c, "manage");
  const { view } = orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").get(reach));
  return c.json(await present(c, view));
}
