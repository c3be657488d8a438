// DELETE /v1/stream/__ds/subscriptions/{id}: remove the subscription (204, also when there was none). Auth on: `manage`,
// with a token reaching every stream it covers.
import { subscriptionStub } from "../../subscriptions/stub";
import type { AppContext } from "../../http/context";
import { reachOf } from "./access";
import { orThrow } from "./schemas";

export async function deleteSubscription(c: AppContext): Promise<Response> {
  const reach = reachOf(c, "manage");
  orThrow(await subscriptionStub(c.env, c.req.param("id") ?? "").delete(reach));
  return c.body(null, 204);
}
