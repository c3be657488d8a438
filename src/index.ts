import { DurableObject } from "cloudflare:workers";

export class StreamDO extends DurableObject {}

export default {
  async fetch(): Promise<Response> {
    return new Response("placeholder", { status: 503 });
  },
} satisfies ExportedHandler;
