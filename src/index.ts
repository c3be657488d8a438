// Worker entry point: wires the HTTP app and the fan-out queue consumer, exports the Durable Objects.
import { buildApp } from "./app";
import type { Env } from "./env";
import { consumeFanout } from "./fanout/queue-consumer";

export { StreamDO } from "./stream/stream-do";
export { StreamSubscribersDO } from "./fanout/subscribers-do";
export { ProjectDO } from "./projects/project-do";
export { ProjectDirectoryDO } from "./projects/directory-do";
export { SubscriptionDO } from "./subscriptions/subscription-do";
export { WebhookKeyDO } from "./subscriptions/webhook-key-do";
export { SinkDO } from "./sinks/sink-do";

const app = buildApp();

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeFanout(batch, env),
} satisfies ExportedHandler<Env>;
