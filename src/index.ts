// Worker entry point: wires the HTTP app and exports the Durable Object classes.
import { buildApp } from "./app";
import type { Env } from "./env";

export { StreamDO } from "./stream/stream-do";

const app = buildApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
