// GET /v1/stream/__ds/subscriptions/{id}: the subscription, its links and acked offsets. Auth on: `manage`.
import { subscriptionStub } from "../../env";
import type { AppContext } from "../../http/context";
import { ownerOf } from "./access";
import { orThrow, present } from "./schemas";

export async function getSubscription(c: AppContext): Promise<Response> {
  const owner = ownerOf(c, "manage");
  const { view } = orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").get(owner));
  return c.json(await present(c, view));
}
