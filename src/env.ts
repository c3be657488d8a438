// The Worker's bindings, generated from wrangler.toml into worker-configuration.d.ts (`npm run types`
// after changing the config), and one typed stub helper per DO class.
import type { StreamSubscribersDO } from "./fanout/subscribers-do";
import type { ProjectDO } from "./projects/project-do";
import type { SinkDO } from "./sinks/sink-do";
import type { FanoutJob } from "./contract/fanout";
import type { StreamDO } from "./stream/stream-do";
import type { SubscriptionDO } from "./subscriptions/subscription-do";
import type { WebhookKeyDO } from "./subscriptions/webhook-key-do";

// What the config cannot say: the queue's job type, and the one secret (not in wrangler.toml; unset, the
// admin API is off). Both generated interfaces get them, so `env` from "cloudflare:workers" agrees.
declare global {
  interface Env {
    FANOUT_QUEUE: Queue<FanoutJob>;
    ADMIN_TOKEN?: string;
  }
  namespace Cloudflare {
    interface Env {
      FANOUT_QUEUE: Queue<FanoutJob>;
      ADMIN_TOKEN?: string;
    }
  }
}

export type Env = globalThis.Env;

/** One StreamDO per (project, stream), addressed by "project/stream". */
export function streamStub(env: Env, name: string): DurableObjectStub<StreamDO> {
  return env.STREAMS.getByName(name);
}

/** One ProjectDO per project (tenant), addressed by the project name. */
export function projectStub(env: Env, project: string): DurableObjectStub<ProjectDO> {
  return env.PROJECTS.getByName(project);
}

/** One StreamSubscribersDO per source stream, under the same name as the source's StreamDO. */
export function subscribersStub(env: Env, source: string): DurableObjectStub<StreamSubscribersDO> {
  return env.SUBSCRIBERS.getByName(source);
}

/** One SubscriptionDO per subscription id of the reserved subscription APIs. */
export function subscriptionStub(env: Env, id: string): DurableObjectStub<SubscriptionDO> {
  return env.SUBSCRIPTIONS.getByName(id);
}

/** The deployment's one webhook signing key object. */
export function webhookKeyStub(env: Env): DurableObjectStub<WebhookKeyDO> {
  return env.WEBHOOK_KEYS.getByName("deployment");
}

/** One SinkDO per (source stream, sink id), named by sinkObjectName (contract/sinks.ts). */
export function sinkStub(env: Env, name: string): DurableObjectStub<SinkDO> {
  return env.SINKS.getByName(name);
}
