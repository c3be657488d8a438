// A request through the Worker's app that returns only once the request's background work (such as
// the page cache's put) has finished, so the next request sees its effect.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { buildApp } from "../../src/app";

const app = buildApp();

export async function sendSettled(path: string, init: RequestInit = {}, bindings: object = env): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await app.request(`https://streams.test${path}`, init, bindings, ctx);
  const empty = init.method === "HEAD" || response.status === 204 || response.status === 304;
  const body = empty ? null : await response.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, response);
}
