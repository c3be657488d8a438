// How other modules address the objects of the protocol's `__ds` subscriptions: one SubscriptionDO
// per subscription id, and the deployment's one WebhookKeyDO.
import type { Env } from "../env";
import type { SubscriptionDO } from "./subscription-do";
import type { WebhookKeyDO } from "./webhook-key-do";

/** One SubscriptionDO per subscription id of the reserved subscription APIs. */
export function subscriptionStub(env: Env, id: string): DurableObjectStub<SubscriptionDO> {
  return env.SUBSCRIPTIONS.getByName(id);
}

/** The deployment's one webhook signing key object. */
export function webhookKeyStub(env: Env): DurableObjectStub<WebhookKeyDO> {
  return env.WEBHOOK_KEYS.getByName("deployment");
}
