// DELETE /v1/stream/__ds/subscriptions/{id}: remove the subscription (204, also when there was none). Auth on: `manage`.
import { subscriptionStub } from "../../env";
import type { AppContext } from "../../http/context";
import { ownerOf } from "./access";
import { orThrow } from "./schemas";

export async function deleteSubscription(c: AppContext): Promise<Response> {
  const owner = ownerOf(c, "manage");
  orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").delete(owner));
  return c.body(null, 204);
}
