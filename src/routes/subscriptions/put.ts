// PUT /v1/stream/__ds/subscriptions/{id}: create a subscription (201), or confirm the same one (200).
// Auth on: `manage` in the caller's project, with a token reaching every stream it covers.
import { enforceRateLimit } from "../../auth/rate-limit";
import { loadConfig } from "../../config";
import { subscriptionStub } from "../../subscriptions/stub";
import type { AppContext } from "../../http/context";
import { normalizeConfig } from "../../subscriptions/config";
import { reachOf, requireCoverage } from "./access";
import { orThrow, present, readDsJson, SubscriptionBodySchema } from "./schemas";

export async function putSubscription(c: AppContext): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const reach = reachOf(c, "manage");
  const body = await readDsJson(c, SubscriptionBodySchema);
  const { config } = orThrow(normalizeConfig(body, loadConfig(c.env).WEBHOOK_ALLOW_LOOPBACK === "on"));
  requireCoverage(reach, config);
  if (reach !== null) await enforceRateLimit(c, "subscribe", reach.project);
  const result = orThrow(await subscriptionStub(c.env, id).create({ id, owner: reach?.project ?? null, origin: new URL(c.req.url).origin, config }, reach));
  return c.json(await present(c, result.view), result.created ? 201 : 200);
}
